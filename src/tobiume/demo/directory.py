"""The directory's FHIR resources: each facility's Organization, a hospital's building and its
地域連携室 (the window a care manager contacts at an admission), a 地域包括支援センター's district
and consultation window, and every staff member's Practitioner and PractitionerRole.

JP Core shapes: Organization with the 10-digit 医療機関コード
(`http://jpfhir.jp/fhir/core/IdSystem/insurance-medical-institution-no`), names in kanji and kana.
What a window accepts is `HealthcareService.referralMethod`
(https://hl7.org/fhir/R4/healthcareservice.html), its hours `availableTime`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tobiume.access.relations import SERVED_WARD
from tobiume.demo import systems as cs
from tobiume.demo.city import PREFECTURE, districts
from tobiume.demo.codes import CARE_SERVICES
from tobiume.demo.shapes import coding, concept, ref

if TYPE_CHECKING:
    from tobiume.demo.facilities import Directory, Facility, Staff

KINDS: dict[str, tuple[str, str]] = {
    # kind: (display, organization-type code)
    "hospital": ("病院", "prov"),
    "clinic": ("診療所", "prov"),
    "pharmacy": ("薬局", "prov"),
    "home-nursing": ("訪問看護ステーション", "prov"),
    "care-service": ("介護サービス事業所", "prov"),
    "care-management": ("居宅介護支援事業所", "prov"),
    "support-center": ("地域包括支援センター", "govt"),
    "municipality": ("市町村", "govt"),
}

PROFESSIONS: dict[str, str] = {
    "physician": "医師",
    "nurse": "看護師",
    "care-manager": "介護支援専門員",
    "public-health-nurse": "保健師",
}

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def resources(directory: Directory) -> Iterator[dict[str, Any]]:
    yield _organization(directory.city, directory.city)
    for facilities in directory.facilities.values():
        for facility in facilities:
            yield _organization(facility, directory.city)
            if facility.kind == "hospital":
                yield _site(facility)
                yield _liaison_window(facility)
            if facility.kind == "support-center":
                yield _area(facility)
                yield _consultation_window(facility)
            for staff in directory.staff.get(facility.id, ()):
                yield _practitioner(staff)
                yield _practitioner_role(staff)


def _address(facility: Facility) -> dict[str, Any]:
    return {
        "use": "work",
        "text": f"{PREFECTURE}{facility.ward.city}{facility.line}",
        "line": [facility.line],
        "city": facility.ward.city,
        "state": PREFECTURE,
        "country": "JP",
    }


def _organization(facility: Facility, city: Facility) -> dict[str, Any]:
    display, org_type = KINDS[facility.kind]
    system = (
        cs.MEDICAL_INSTITUTION_NO
        if facility.kind in ("hospital", "clinic", "pharmacy")
        else cs.INSURER_NO
        if facility.kind == "municipality"
        else cs.CARE_PROVIDER_NO
    )
    kind = [
        coding(cs.ORGANIZATION_TYPE, org_type),
        coding(cs.FACILITY_KIND, facility.kind, display),
    ]
    body: dict[str, Any] = {
        "resourceType": "Organization",
        "id": facility.id,
        "meta": {"profile": [cs.JP_ORGANIZATION]},
        "identifier": [{"system": system, "value": facility.code}],
        "active": True,
        "type": [{"coding": kind, "text": display}],
        "name": facility.name,
        "alias": [facility.kana],
        "telecom": [
            {"system": "phone", "value": facility.phone, "use": "work"},
            {"system": "fax", "value": facility.fax, "use": "work"},
        ],
        "address": [_address(facility)],
    }
    if facility.service:
        body["type"].append(
            concept(cs.CARE_SERVICE_TYPE, facility.service, CARE_SERVICES[facility.service])
        )
    if facility.kind == "support-center":
        body["partOf"] = city.ref()
        # The ward whose citizens it serves (docs/access.md, "Relationships").
        body["extension"] = [{"url": SERVED_WARD, "valueString": facility.ward.city}]
    return body


def _site(facility: Facility) -> dict[str, Any]:
    return {
        "resourceType": "Location",
        "id": f"{facility.id}-site",
        "status": "active",
        "name": facility.name,
        "mode": "instance",
        "physicalType": concept(cs.LOCATION_PHYSICAL_TYPE, "bu", "Building"),
        "telecom": [{"system": "phone", "value": facility.phone, "use": "work"}],
        "address": _address(facility),
        "managingOrganization": facility.ref(),
    }


def _liaison_window(facility: Facility) -> dict[str, Any]:
    """The hospital's 地域連携室: the window a care manager contacts at an admission."""
    return {
        "resourceType": "HealthcareService",
        "id": f"{facility.id}-liaison",
        "active": True,
        "providedBy": facility.ref(),
        "type": [concept(cs.SERVICE_TYPE, "regional-liaison", "地域医療連携室")],
        "location": [ref("Location", f"{facility.id}-site", facility.name)],
        "name": f"{facility.name} 地域連携室",
        "comment": (
            "入退院支援と在宅療養の相談窓口です。"
            "入院された方の担当ケアマネジャーの方はご連絡ください。"
        ),
        "extraDetails": (
            "入院時情報提供書は本ネットワーク（とびうめ）またはFAXでお送りください。"
            "退院前カンファレンスの日程調整も承ります。"
        ),
        "telecom": [
            {"system": "phone", "value": _direct_line(facility.phone), "use": "work"},
            {"system": "fax", "value": facility.fax, "use": "work"},
            {"system": "email", "value": f"renkei@{facility.id}.example.jp", "use": "work"},
        ],
        "communication": [concept("urn:ietf:bcp:47", "ja", "日本語")],
        "referralMethod": [
            concept(cs.REFERRAL_METHOD, "elec", "Secure Messaging"),
            concept(cs.REFERRAL_METHOD, "fax", "Fax"),
            concept(cs.REFERRAL_METHOD, "phone", "Phone"),
        ],
        "appointmentRequired": False,
        "availableTime": [
            {
                "daysOfWeek": WEEKDAYS,
                "availableStartTime": "08:30:00",
                "availableEndTime": "17:00:00",
            },
            {
                "daysOfWeek": ["sat"],
                "availableStartTime": "08:30:00",
                "availableEndTime": "12:30:00",
            },
        ],
        "availabilityExceptions": "日曜・祝日・年末年始（12月29日〜1月3日）は休みです。",
    }


def _direct_line(number: str) -> str:
    """The window's own line: the facility's number, next extension."""
    return f"{number[:-4]}{(int(number[-4:]) + 1) % 10000:04d}"


def _area(facility: Facility) -> dict[str, Any]:
    """The district a 地域包括支援センター serves, as an area Location."""
    district_name, towns = districts(facility.ward)[facility.district]
    return {
        "resourceType": "Location",
        "id": f"{facility.id}-area",
        "status": "active",
        "name": district_name,
        "description": "担当地区: " + "、".join(towns),
        "mode": "kind",
        "physicalType": concept(cs.LOCATION_PHYSICAL_TYPE, "area", "Area"),
        "address": {"city": facility.ward.city, "state": PREFECTURE, "country": "JP"},
        "managingOrganization": facility.ref(),
    }


def _consultation_window(facility: Facility) -> dict[str, Any]:
    return {
        "resourceType": "HealthcareService",
        "id": f"{facility.id}-consultation",
        "active": True,
        "providedBy": facility.ref(),
        "type": [
            concept(cs.SERVICE_TYPE, "community-support", "地域包括支援（総合相談・介護予防支援）")
        ],
        "name": f"{facility.name} 総合相談窓口",
        "coverageArea": [
            ref("Location", f"{facility.id}-area", districts(facility.ward)[facility.district][0])
        ],
        "telecom": [
            {"system": "phone", "value": facility.phone, "use": "work"},
            {"system": "fax", "value": facility.fax, "use": "work"},
        ],
        "communication": [concept("urn:ietf:bcp:47", "ja", "日本語")],
        "availableTime": [
            {
                "daysOfWeek": WEEKDAYS,
                "availableStartTime": "08:30:00",
                "availableEndTime": "17:15:00",
            }
        ],
    }


def _practitioner(staff: Staff) -> dict[str, Any]:
    profession = PROFESSIONS[staff.profession]
    return {
        "resourceType": "Practitioner",
        "id": staff.practitioner_id,
        "active": True,
        "name": staff.person.names(),
        "gender": staff.person.gender,
        "qualification": [{"code": concept(cs.PROFESSION, staff.profession, profession)}],
    }


def _practitioner_role(staff: Staff) -> dict[str, Any]:
    profession = PROFESSIONS[staff.profession]
    return {
        "resourceType": "PractitionerRole",
        "id": staff.role_id,
        "active": True,
        "practitioner": ref("Practitioner", staff.practitioner_id, staff.person.text),
        "organization": staff.facility.ref(),
        "code": [concept(cs.PROFESSION, staff.profession, profession)],
        "telecom": [{"system": "phone", "value": staff.facility.phone, "use": "work"}],
    }
