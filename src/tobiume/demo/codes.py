"""The clinical vocabulary of the synthetic city: diseases, drugs, laboratory and checkup items,
allergies and the codes of 介護保険.

ICD-10 codes are the WHO's, named with the usual Japanese disease names. JLAC10 codes of
the 特定健診 items are those of the MHLW 特定健診 data standard; the others are shaped as
JLAC10 (17 characters: analyte 5, identification 4, material 3, method 3, result 2). YJ codes
are YJ-shaped (12 characters) and illustrative: they are not checked against the 薬価基準
master, and no real prescription should ever be read from this data.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Disease:
    key: str
    icd10: str
    name: str
    drugs: tuple[str, ...]
    """Keys of `DRUGS` a patient with this disease takes (the first always, the rest maybe)."""
    labs: tuple[str, ...]
    """Keys of `LABS` followed at outpatient visits."""


@dataclass(frozen=True)
class Drug:
    key: str
    yj: str
    name: str
    dose: str
    """The usual `dosageInstruction.text`."""
    per_day: int
    """Tablets (or doses) a day."""
    form: str
    """MERIT-9 unit code (TAB 錠, CAP カプセル, HON 本, MAI 枚, KO 個)."""


@dataclass(frozen=True)
class Lab:
    key: str
    jlac10: str
    name: str
    unit: str
    """UCUM code, also the display unit."""
    low: float | None
    high: float | None
    loinc: str | None = None
    decimals: int = 1


DISEASES: dict[str, Disease] = {
    d.key: d
    for d in (
        Disease("hypertension", "I10", "本態性高血圧症", ("amlodipine", "olmesartan"), ()),
        Disease("dyslipidemia", "E78.5", "脂質異常症", ("rosuvastatin",), ("ldl",)),
        Disease(
            "diabetes", "E11.9", "2型糖尿病", ("metformin", "sitagliptin"), ("hba1c", "glucose")
        ),
        Disease("knee_oa", "M17.9", "変形性膝関節症", ("loxoprofen_tape",), ()),
        Disease("osteoporosis", "M81.9", "骨粗鬆症", ("alendronate", "eldecalcitol"), ()),
        Disease("gerd", "K21.9", "逆流性食道炎", ("lansoprazole",), ()),
        Disease("insomnia", "G47.0", "不眠症", ("zolpidem",), ()),
        Disease("bph", "N40", "前立腺肥大症", ("tamsulosin",), ()),
        Disease("ckd", "N18.9", "慢性腎臓病", ("febuxostat",), ("creatinine", "egfr", "potassium")),
        Disease("af", "I48.9", "心房細動", ("apixaban",), ("hemoglobin", "creatinine")),
        Disease(
            "heart_failure",
            "I50.9",
            "慢性心不全",
            ("furosemide", "carvedilol"),
            ("potassium", "creatinine"),
        ),
        Disease("stroke_sequela", "I69.3", "脳梗塞後遺症", ("clopidogrel",), ()),
        Disease("dementia", "F03", "認知症", ("donepezil",), ()),
        Disease("parkinson", "G20", "パーキンソン病", ("levodopa",), ()),
        Disease("copd", "J44.9", "慢性閉塞性肺疾患", ("tiotropium",), ()),
    )
}

ACUTE: dict[str, Disease] = {
    d.key: d
    for d in (
        Disease("pneumonia", "J18.9", "肺炎", ("sulbactam_ampicillin",), ("crp", "wbc")),
        Disease("hip_fracture", "S72.00", "大腿骨頸部骨折", (), ("hemoglobin",)),
        Disease("hf_exacerbation", "I50.0", "うっ血性心不全", ("furosemide",), ("potassium",)),
        Disease("cerebral_infarction", "I63.9", "脳梗塞", ("clopidogrel",), ()),
        Disease("uti", "N39.0", "尿路感染症", ("levofloxacin",), ("crp", "wbc")),
    )
}
"""Reasons for an admission: each gives an inpatient Encounter and an encounter diagnosis."""

DRUGS: dict[str, Drug] = {
    d.key: d
    for d in (
        Drug("amlodipine", "2171022F2011", "アムロジピン錠5mg", "1日1回朝食後", 1, "TAB"),
        Drug("olmesartan", "2149044F2021", "オルメサルタン錠20mg", "1日1回朝食後", 1, "TAB"),
        Drug("rosuvastatin", "2189017F1031", "ロスバスタチン錠2.5mg", "1日1回夕食後", 1, "TAB"),
        Drug("metformin", "3962002F1041", "メトホルミン塩酸塩錠250mg", "1日2回朝夕食後", 2, "TAB"),
        Drug("sitagliptin", "3969010F1051", "シタグリプチン錠50mg", "1日1回朝食後", 1, "TAB"),
        Drug(
            "loxoprofen_tape",
            "2649735S1061",
            "ロキソプロフェンNaテープ100mg",
            "1日1回患部に貼付",
            1,
            "MAI",
        ),
        Drug("alendronate", "3999018F1071", "アレンドロン酸錠35mg", "週1回起床時", 1, "TAB"),
        Drug(
            "eldecalcitol",
            "3112004M1081",
            "エルデカルシトールカプセル0.75μg",
            "1日1回朝食後",
            1,
            "CAP",
        ),
        Drug("lansoprazole", "2329023F1091", "ランソプラゾールOD錠15mg", "1日1回朝食後", 1, "TAB"),
        Drug("zolpidem", "1129009F1101", "ゾルピデム酒石酸塩錠5mg", "1日1回就寝前", 1, "TAB"),
        Drug("tamsulosin", "2590008F1111", "タムスロシン塩酸塩OD錠0.2mg", "1日1回朝食後", 1, "TAB"),
        Drug("febuxostat", "3949003F1121", "フェブキソスタット錠20mg", "1日1回朝食後", 1, "TAB"),
        Drug("apixaban", "3339004F1131", "アピキサバン錠2.5mg", "1日2回朝夕食後", 2, "TAB"),
        Drug("furosemide", "2139005F1141", "フロセミド錠20mg", "1日1回朝食後", 1, "TAB"),
        Drug("carvedilol", "2149032F1151", "カルベジロール錠2.5mg", "1日2回朝夕食後", 2, "TAB"),
        Drug("clopidogrel", "3399008F1161", "クロピドグレル錠75mg", "1日1回朝食後", 1, "TAB"),
        Drug("donepezil", "1190012F1171", "ドネペジル塩酸塩OD錠5mg", "1日1回朝食後", 1, "TAB"),
        Drug(
            "levodopa", "1169101F1181", "レボドパ・カルビドパ配合錠L100", "1日3回毎食後", 3, "TAB"
        ),
        Drug(
            "tiotropium", "2259707G1191", "チオトロピウム吸入用カプセル18μg", "1日1回吸入", 1, "CAP"
        ),
        Drug(
            "sulbactam_ampicillin",
            "6139505D1201",
            "スルバクタム・アンピシリン静注用1.5g",
            "1日2回点滴静注",
            2,
            "HON",
        ),
        Drug("levofloxacin", "6241013F1211", "レボフロキサシン錠500mg", "1日1回朝食後", 1, "TAB"),
    )
}

LABS: dict[str, Lab] = {
    lab.key: lab
    for lab in (
        Lab("hba1c", "3D046000001906202", "HbA1c（NGSP）", "%", 4.6, 6.2, "4548-4"),
        Lab("glucose", "3D010000001926101", "空腹時血糖", "mg/dL", 73, 109, "1558-6", 0),
        Lab("ldl", "3F077000002327101", "LDLコレステロール", "mg/dL", 65, 139, "18262-6", 0),
        Lab("hdl", "3F070000002327101", "HDLコレステロール", "mg/dL", 40, 90, "2085-9", 0),
        Lab("tg", "3F015000002327101", "中性脂肪（トリグリセリド）", "mg/dL", 30, 149, "2571-8", 0),
        Lab("ast", "3B035000002327201", "AST（GOT）", "U/L", 13, 30, "1920-8", 0),
        Lab("alt", "3B045000002327201", "ALT（GPT）", "U/L", 7, 30, "1742-6", 0),
        Lab("ggt", "3B090000002327101", "γ-GT（γ-GTP）", "U/L", 9, 50, "2324-2", 0),
        Lab("creatinine", "3C015000002327101", "クレアチニン", "mg/dL", 0.46, 1.07, "2160-0", 2),
        Lab("egfr", "8A065000002391901", "eGFR", "mL/min/{1.73_m2}", 60, None, "33914-3"),
        Lab("potassium", "3H015000002327101", "カリウム", "mmol/L", 3.6, 4.8, "2823-3"),
        Lab("hemoglobin", "2A030000001930101", "ヘモグロビン", "g/dL", 11.6, 16.8, "718-7"),
        Lab("wbc", "2A010000001930101", "白血球数", "10*3/uL", 3.3, 8.6, "6690-2"),
        Lab("crp", "5C070000002306001", "CRP", "mg/dL", None, 0.14, "1988-5", 2),
    )
}


@dataclass(frozen=True)
class CheckupItem:
    key: str
    jlac10: str
    name: str
    unit: str
    loinc: str
    category: str
    """`observation-category` code: vital-signs, exam or laboratory."""
    decimals: int = 1


CHECKUP: tuple[CheckupItem, ...] = (
    CheckupItem("height", "9N001000000000001", "身長", "cm", "8302-2", "vital-signs"),
    CheckupItem("weight", "9N006000000000001", "体重", "kg", "29463-7", "vital-signs"),
    CheckupItem("waist", "9N016160100000001", "腹囲（実測）", "cm", "8280-0", "exam"),
    CheckupItem("bmi", "9N011000000000001", "BMI", "kg/m2", "39156-5", "vital-signs"),
    CheckupItem(
        "sbp", "9A755000000000001", "収縮期血圧（その他）", "mm[Hg]", "8480-6", "vital-signs", 0
    ),
    CheckupItem(
        "dbp", "9A765000000000001", "拡張期血圧（その他）", "mm[Hg]", "8462-4", "vital-signs", 0
    ),
    CheckupItem(
        "tg", "3F015000002327101", "中性脂肪（トリグリセリド）", "mg/dL", "2571-8", "laboratory", 0
    ),
    CheckupItem(
        "hdl", "3F070000002327101", "HDLコレステロール", "mg/dL", "2085-9", "laboratory", 0
    ),
    CheckupItem(
        "ldl", "3F077000002327101", "LDLコレステロール", "mg/dL", "18262-6", "laboratory", 0
    ),
    CheckupItem("ast", "3B035000002327201", "AST（GOT）", "U/L", "1920-8", "laboratory", 0),
    CheckupItem("alt", "3B045000002327201", "ALT（GPT）", "U/L", "1742-6", "laboratory", 0),
    CheckupItem("ggt", "3B090000002327101", "γ-GT（γ-GTP）", "U/L", "2324-2", "laboratory", 0),
    CheckupItem("glucose", "3D010000001926101", "空腹時血糖", "mg/dL", "1558-6", "laboratory", 0),
    CheckupItem("hba1c", "3D046000001906202", "HbA1c（NGSP）", "%", "4548-4", "laboratory"),
)
URINE: tuple[CheckupItem, ...] = (
    CheckupItem("urine_glucose", "1A020000000190111", "尿糖", "", "25428-4", "laboratory"),
    CheckupItem("urine_protein", "1A010000000190111", "尿蛋白", "", "20454-5", "laboratory"),
)
URINE_GRADES = ("−", "±", "+", "2+", "3+")

ALLERGIES: tuple[tuple[str, str, str, str], ...] = (
    # (text, category, criticality, reaction)
    ("ペニシリン系抗菌薬", "medication", "high", "全身の蕁麻疹"),
    ("ヨード造影剤", "medication", "high", "血圧低下・呼吸困難"),
    ("ロキソプロフェン（NSAIDs）", "medication", "low", "喘息発作"),
    ("セフェム系抗菌薬", "medication", "low", "薬疹"),
    ("卵", "food", "low", "口腔内のかゆみ"),
    ("そば", "food", "high", "アナフィラキシー"),
    ("えび・かに", "food", "high", "蕁麻疹・嘔吐"),
    ("スギ花粉", "environment", "low", "鼻汁・くしゃみ"),
    ("ラテックス", "environment", "low", "接触皮膚炎"),
)

CARE_LEVELS: tuple[tuple[str, str, float], ...] = (
    # (code, display, share among certified citizens)
    ("12", "要支援1", 0.14),
    ("13", "要支援2", 0.14),
    ("21", "要介護1", 0.21),
    ("22", "要介護2", 0.17),
    ("23", "要介護3", 0.13),
    ("24", "要介護4", 0.12),
    ("25", "要介護5", 0.09),
)
SUPPORT_LEVELS = ("12", "13")
"""要支援: care management by the 地域包括支援センター (介護予防支援)."""

CARE_SERVICES: dict[str, str] = {
    "11": "訪問介護",
    "13": "訪問看護",
    "15": "通所介護",
    "16": "通所リハビリテーション",
    "17": "福祉用具貸与",
    "21": "短期入所生活介護",
    "43": "居宅介護支援",
    "46": "介護予防支援",
}

ADL_INDEPENDENCE = ("J1", "J2", "A1", "A2", "B1", "B2", "C1", "C2")
"""障害高齢者の日常生活自立度（寝たきり度）, from independent to bedridden."""
DEMENTIA_INDEPENDENCE = ("自立", "I", "IIa", "IIb", "IIIa", "IIIb", "IV", "M")
"""認知症高齢者の日常生活自立度."""
