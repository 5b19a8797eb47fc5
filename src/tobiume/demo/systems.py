"""The code systems, identifier systems and extensions the synthetic city writes.

JP Core (https://jpfhir.jp/fhir/core/) fixes the Japanese ones: the kanji/kana name
representation, per-facility patient-number OIDs, the 10-digit 医療機関コード, JLAC10 laboratory
codes, YJ drug codes. Concepts that have no published FHIR code system (要介護度,
care-team roles, 介護サービス種類, care assessments) use this server's own CodeSystems under
`TOBIUME_CS`, listed in docs/data.md (the server is to publish the ones access and the
admission workflow use, data-class and care-team-role, as CodeSystem resources).
"""

from __future__ import annotations

TOBIUME_CS = "http://tobiume.example/fhir/CodeSystem/"
"""Canonical base of the server's own CodeSystems (the `.example` domain is reserved, so no
real system can ever clash)."""

EN_REPRESENTATION = "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation"
JP_PATIENT = "http://jpfhir.jp/fhir/core/StructureDefinition/JP_Patient"
JP_ORGANIZATION = "http://jpfhir.jp/fhir/core/StructureDefinition/JP_Organization"
JP_LAB = "http://jpfhir.jp/fhir/core/StructureDefinition/JP_Observation_LabResult"
JP_CONDITION = "http://jpfhir.jp/fhir/core/StructureDefinition/JP_Condition"
JP_MEDICATION_REQUEST = "http://jpfhir.jp/fhir/core/StructureDefinition/JP_MedicationRequest"

PATIENT_NUMBER_OID = "urn:oid:1.2.392.100495.20.3.51.1"
"""JP Core patient number: this prefix + the facility's 10-digit 医療機関コード."""
MEDICAL_INSTITUTION_NO = "http://jpfhir.jp/fhir/core/IdSystem/insurance-medical-institution-no"
"""医療機関コード (10 digits: prefecture 2 + score table 1 + institution 7)."""
TOBIUME_ID = "http://tobiume.example/fhir/IdSystem/"
"""Base of the identifier systems that have no published JP Core URI."""
CARE_PROVIDER_NO = TOBIUME_ID + "care-provider-no"
"""介護事業所番号 (10 digits: prefecture 2 + 8)."""
INSURER_NO = "urn:oid:1.2.392.100495.20.3.61"
"""保険者番号: the city is the insurer of 介護保険."""
CARE_INSURED_NO = TOBIUME_ID + "care-insured-no"
"""介護保険 被保険者番号 (10 digits)."""
JP_INSURED_PERSON_NUMBER = (
    "http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_Coverage_InsuredPersonNumber"
)
"""JP Core's Coverage extension for the number on the insurance card (被保険者証番号), which
JP Core's `jp-insured-personnumber` searches; the 介護保険 card carries the 被保険者番号 and no
symbol or sub-number."""

ICD10 = "http://hl7.org/fhir/sid/icd-10"
JLAC10 = "urn:oid:1.2.392.200119.4.504"
YJ = "urn:oid:1.2.392.100495.20.1.73"
UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"

OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ADMIT_SOURCE = "http://terminology.hl7.org/CodeSystem/admit-source"
DISCHARGE_DISPOSITION = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
ORGANIZATION_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
COVERAGE_CLASS = "http://terminology.hl7.org/CodeSystem/coverage-class"
DIAGNOSTIC_SERVICE = "http://terminology.hl7.org/CodeSystem/v2-0074"
LOCATION_PHYSICAL_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"

CARE_LEVEL = TOBIUME_CS + "care-level"
"""要介護状態区分 (the 介護保険 interface's codes: 12/13 要支援1-2, 21-25 要介護1-5)."""
CARE_TEAM_ROLE = TOBIUME_CS + "care-team-role"
CARE_SERVICE_TYPE = TOBIUME_CS + "care-service-type"
"""介護サービス種類 (the 介護給付費 service-type codes: 11 訪問介護, 13 訪問看護, ...)."""
CARE_ASSESSMENT = TOBIUME_CS + "care-assessment"
"""What a care assessment observes: care-level, adl-independence, dementia-independence."""
ADL_SCALE = TOBIUME_CS + "adl-independence"
"""障害高齢者の日常生活自立度 (J1 ... C2)."""
DEMENTIA_SCALE = TOBIUME_CS + "dementia-independence"
"""認知症高齢者の日常生活自立度 (自立, I ... M)."""
COVERAGE_CLASS_LOCAL = TOBIUME_CS + "coverage-class"
"""Coverage.class types of 介護保険: care-level (value: the 要介護状態区分 code)."""
RECORD_CATEGORY = TOBIUME_CS + "record-category"
"""What kind of record a resource is in the network: 特定健診, 介護保険, care plan, ..."""
FACILITY_KIND = TOBIUME_CS + "facility-kind"
COVERAGE_TYPE = TOBIUME_CS + "coverage-type"
SERVICE_TYPE = TOBIUME_CS + "healthcare-service-type"
PROFESSION = TOBIUME_CS + "profession"
REFERRAL_METHOD = "http://terminology.hl7.org/CodeSystem/service-referral-method"
MERIT9_UNIT = "urn:oid:1.2.392.100495.20.2.101"
"""MERIT-9 units of drug amounts (TAB 錠, CAP カプセル, ...), as JP Core uses them."""
ACT_PRIORITY = "http://terminology.hl7.org/CodeSystem/v3-ActPriority"
METABOLIC_JUDGEMENT = TOBIUME_CS + "metabolic-syndrome-judgement"
"""特定健診's メタボリックシンドローム判定: 1 基準該当, 2 予備群該当, 3 非該当."""
