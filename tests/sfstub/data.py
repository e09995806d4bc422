"""Object schemas and deterministic record generation for the Salesforce stand-in.

This module describes the sObjects the stand-in serves (User, Account, Contact,
Lead) with Salesforce's own field names and types, and generates seeded,
realistic records for them.  Records are plain tuples in schema field order, so
a million of them stay compact and can be shared between query snapshots
without copying: the server never modifies a tuple, it replaces it.

Value representation inside a record tuple:
  id, reference, string, email, phone, textarea, picklist, url -> str or None
  boolean -> bool; datetime -> int (milliseconds since the Unix epoch, UTC);
  date -> str 'YYYY-MM-DD'; double, currency -> float; int -> int.
"""

import datetime
import math
import random

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
EPOCH = datetime.date(1970, 1, 1)
# Generated history spans these dates so it is the same on every run and always
# older than anything the server's (real-time) clock stamps later.
GEN_START_MS = 1640995200000   # 2022-01-01T00:00:00Z
GEN_END_MS = 1717200000000     # 2024-06-01T00:00:00Z


class Field:
    """One describe() field.  `length` is the character limit for text types."""

    __slots__ = ("name", "type", "label", "nillable", "length", "relationship_name",
                 "reference_to", "picklist", "filterable", "sortable", "index", "external_id",
                 "defaulted", "restricted", "default", "create_only")

    def __init__(self, name, ftype, label=None, nillable=True, length=0,
                 relationship_name=None, reference_to=None, picklist=None, external_id=False,
                 defaulted=False, restricted=True, default=None, create_only=False):
        self.name = name
        self.type = ftype
        self.label = label or _label(name)
        self.nillable = nillable if ftype != "boolean" else False
        self.length = length
        self.relationship_name = relationship_name
        self.reference_to = reference_to or []
        self.picklist = picklist or []
        # Long text areas can be neither filtered nor sorted in SOQL.
        long_text = ftype == "textarea" and length > 255
        self.filterable = not long_text
        self.sortable = not long_text
        self.index = -1
        # an external id (unique, case-insensitive): the key of upserts
        self.external_id = external_id
        # the API fills it on create when it is missing (OwnerId: the caller)
        self.defaulted = defaulted or default is not None
        # restrictedPicklist: only the listed values are accepted
        self.restricted = restricted and ftype in ("picklist", "multipicklist")
        # the value the API fills in on create when the field is missing
        self.default = default
        # createable, not updateable (CampaignMember.CampaignId, Task.TaskSubtype)
        self.create_only = create_only


def _label(name):
    out = []
    for i, ch in enumerate(name):
        if i and ch.isupper() and not name[i - 1].isupper():
            out.append(" ")
        out.append(ch)
    label = "".join(out)
    return label[:-3] + " ID" if label.endswith(" Id") else label


class SObject:
    """Schema of one sObject: ordered fields plus case-insensitive lookups."""

    def __init__(self, name, label, label_plural, key_prefix, fields):
        self.name = name
        self.label = label
        self.label_plural = label_plural
        self.key_prefix = key_prefix
        self.fields = fields
        self.by_lower = {}
        self.relationships = {}
        for i, f in enumerate(fields):
            f.index = i
            self.by_lower[f.name.lower()] = f
            if f.relationship_name:
                self.relationships[f.relationship_name.lower()] = f
        if fields[0].name != "Id":
            raise ValueError("Id must be the first field of " + name)

    def field(self, name):
        return self.by_lower.get(name.lower())

    def idx(self, name):
        return self.by_lower[name.lower()].index


def _audit():
    return [
        Field("CreatedDate", "datetime", nillable=False),
        Field("LastModifiedDate", "datetime", nillable=False),
        Field("SystemModstamp", "datetime", label="System Modstamp", nillable=False),
    ]


LEAD_SOURCES = ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"]
LEAD_STATUSES = ["Open - Not Contacted", "Working - Contacted", "Closed - Converted",
                 "Closed - Not Converted"]
RATINGS = ["Hot", "Warm", "Cold"]
OPPORTUNITY_STAGES = ["Prospecting", "Qualification", "Needs Analysis", "Proposal/Price Quote",
                      "Negotiation/Review", "Closed Won", "Closed Lost"]
CAMPAIGN_TYPES = ["Conference", "Webinar", "Trade Show", "Public Relations", "Partners",
                  "Referral Program", "Advertisement", "Banner Ads", "Direct Mail", "Email",
                  "Telemarketing", "Other"]
CAMPAIGN_STATUSES = ["Planned", "In Progress", "Completed", "Aborted"]
MEMBER_STATUSES = ["Planned", "Received", "Responded", "Sent"]
TASK_STATUSES = ["Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"]
TASK_PRIORITIES = ["High", "Normal", "Low"]
TASK_TYPES = ["Call", "Email", "Meeting", "Other"]
TASK_SUBTYPES = ["Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn"]
INDUSTRIES = ["Agriculture", "Banking", "Biotechnology", "Construction", "Education",
              "Electronics", "Energy", "Healthcare", "Manufacturing", "Retail", "Technology"]


CAMPAIGN_TYPES = ["Conference", "Webinar", "Trade Show", "Public Relations", "Partners",
                  "Referral Program", "Advertisement", "Banner Ads", "Direct Mail", "Email",
                  "Telemarketing", "Other"]
CAMPAIGN_STATUSES = ["Planned", "In Progress", "Completed", "Aborted"]
MEMBER_STATUSES = ["Sent", "Responded"]
TASK_STATUSES = ["Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"]
TASK_PRIORITIES = ["High", "Normal", "Low"]
TASK_SUBTYPES = ["Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn"]
INTERESTS = ["Product News", "Events", "Webinars", "Offers"]
SEGMENTS = ["Enterprise", "Mid-Market", "Small Business"]

# --custom-fields: custom fields an org's administrator added to Contact, one
# of each kind a mapping has to convert (appended after Ext_Id__c)
CONTACT_CUSTOM = [
    ("Interests__c", "multipicklist", dict(label="Interests", length=4099, picklist=INTERESTS)),
    ("Segment__c", "picklist", dict(label="Segment", length=255, picklist=SEGMENTS)),
    ("Score__c", "double", dict(label="Lead Score")),
    ("Discount__c", "percent", dict(label="Discount")),
    ("Newsletter__c", "boolean", dict(label="Newsletter")),
    ("Signup_Date__c", "date", dict(label="Signup Date")),
    ("Last_Open__c", "datetime", dict(label="Last Email Open")),
    ("Nickname__c", "string", dict(label="Nickname", length=20)),
    ("Tags__c", "picklist", dict(label="Tag", length=255, picklist=["a", "b"], restricted=False)),
]


def build_schemas(custom_fields=False):
    """Fresh schema objects keyed by lower-case object name."""
    user = SObject("User", "User", "Users", "005", [
        Field("Id", "id", nillable=False, length=18),
        Field("Username", "string", nillable=False, length=80),
        Field("FirstName", "string", length=40),
        Field("LastName", "string", nillable=False, length=80),
        Field("Name", "string", label="Full Name", nillable=False, length=121),
        Field("Email", "email", nillable=False, length=128),
        Field("IsActive", "boolean"),
    ] + _audit())
    account = SObject("Account", "Account", "Accounts", "001", [
        Field("Id", "id", nillable=False, length=18),
        Field("IsDeleted", "boolean", label="Deleted"),
        Field("Name", "string", label="Account Name", nillable=False, length=255),
        Field("Type", "picklist", length=255,
              picklist=["Prospect", "Customer - Direct", "Customer - Channel", "Partner"]),
        Field("Industry", "picklist", length=255, picklist=INDUSTRIES),
        Field("BillingStreet", "textarea", length=255),
        Field("BillingCity", "string", length=40),
        Field("BillingState", "string", length=80),
        Field("BillingPostalCode", "string", length=20),
        Field("BillingCountry", "string", length=80),
        Field("Phone", "phone", length=40),
        Field("Website", "url", length=255),
        Field("AnnualRevenue", "currency"),
        Field("NumberOfEmployees", "int"),
        Field("Description", "textarea", length=32000),
        Field("OwnerId", "reference", label="Owner ID", nillable=False, length=18,
              relationship_name="Owner", reference_to=["User"], defaulted=True),
    ] + _audit())
    contact = SObject("Contact", "Contact", "Contacts", "003", [
        Field("Id", "id", nillable=False, length=18),
        Field("IsDeleted", "boolean", label="Deleted"),
        Field("AccountId", "reference", label="Account ID", length=18,
              relationship_name="Account", reference_to=["Account"]),
        Field("LastName", "string", nillable=False, length=80),
        Field("FirstName", "string", length=40),
        Field("Name", "string", label="Full Name", nillable=False, length=121),
        Field("MailingStreet", "textarea", length=255),
        Field("MailingCity", "string", length=40),
        Field("MailingState", "string", length=80),
        Field("MailingPostalCode", "string", length=20),
        Field("MailingCountry", "string", length=80),
        Field("Phone", "phone", label="Business Phone", length=40),
        Field("MobilePhone", "phone", length=40),
        Field("Email", "email", length=80),
        Field("Title", "string", length=128),
        Field("Department", "string", length=80),
        Field("LeadSource", "picklist", length=255, picklist=LEAD_SOURCES),
        Field("Description", "textarea", label="Contact Description", length=32000),
        Field("OwnerId", "reference", label="Owner ID", nillable=False, length=18,
              relationship_name="Owner", reference_to=["User"], defaulted=True),
        Field("DoNotCall", "boolean"),
        Field("HasOptedOutOfEmail", "boolean", label="Email Opt Out"),
    ] + _audit() + [
        # a custom external-id field: integrations keep their own row id here
        Field("Ext_Id__c", "string", label="External ID", length=255, external_id=True),
    ] + ([Field(n, t, **kw) for n, t, kw in CONTACT_CUSTOM] if custom_fields else []))
    lead = SObject("Lead", "Lead", "Leads", "00Q", [
        Field("Id", "id", nillable=False, length=18),
        Field("IsDeleted", "boolean", label="Deleted"),
        Field("LastName", "string", nillable=False, length=80),
        Field("FirstName", "string", length=40),
        Field("Name", "string", label="Full Name", nillable=False, length=121),
        Field("Title", "string", length=128),
        Field("Company", "string", nillable=False, length=255),
        Field("Street", "textarea", length=255),
        Field("City", "string", length=40),
        Field("State", "string", length=80),
        Field("PostalCode", "string", length=20),
        Field("Country", "string", length=80),
        Field("Phone", "phone", length=40),
        Field("MobilePhone", "phone", length=40),
        Field("Email", "email", length=80),
        Field("Description", "textarea", length=32000),
        Field("LeadSource", "picklist", length=255, picklist=LEAD_SOURCES),
        Field("Status", "picklist", nillable=False, length=255, picklist=LEAD_STATUSES),
        Field("Rating", "picklist", length=255, picklist=RATINGS),
        Field("OwnerId", "reference", label="Owner ID", nillable=False, length=18,
              relationship_name="Owner", reference_to=["User"], defaulted=True),
        Field("DoNotCall", "boolean"),
        Field("HasOptedOutOfEmail", "boolean", label="Email Opt Out"),
        Field("IsConverted", "boolean", label="Converted"),
        Field("ConvertedDate", "date"),
        Field("ConvertedAccountId", "reference", label="Converted Account ID", length=18,
              relationship_name="ConvertedAccount", reference_to=["Account"]),
        Field("ConvertedContactId", "reference", label="Converted Contact ID", length=18,
              relationship_name="ConvertedContact", reference_to=["Contact"]),
    ] + _audit())
    opportunity = SObject("Opportunity", "Opportunity", "Opportunities", "006", [
        Field("Id", "id", nillable=False, length=18),
        Field("IsDeleted", "boolean", label="Deleted"),
        Field("AccountId", "reference", label="Account ID", length=18,
              relationship_name="Account", reference_to=["Account"]),
        Field("Name", "string", nillable=False, length=120),
        Field("StageName", "picklist", label="Stage", nillable=False, length=255,
              picklist=OPPORTUNITY_STAGES),
        Field("Amount", "currency"),
        Field("CloseDate", "date", nillable=False),
        Field("OwnerId", "reference", label="Owner ID", nillable=False, length=18,
              relationship_name="Owner", reference_to=["User"], defaulted=True),
    ] + _audit())
    # Campaign, CampaignMember and Task: their describe as Salesforce documents
    # it (the object reference); no records are generated
    campaign = SObject("Campaign", "Campaign", "Campaigns", "701", [
        Field("Id", "id", nillable=False, length=18),
        Field("IsDeleted", "boolean", label="Deleted"),
        Field("Name", "string", label="Campaign Name", nillable=False, length=80),
        Field("ParentId", "reference", label="Parent Campaign ID", length=18,
              relationship_name="Parent", reference_to=["Campaign"]),
        Field("Type", "picklist", length=255, picklist=CAMPAIGN_TYPES),
        Field("Status", "picklist", length=255, picklist=CAMPAIGN_STATUSES),
        Field("StartDate", "date"),
        Field("EndDate", "date"),
        Field("ExpectedRevenue", "currency", label="Expected Revenue in Campaign"),
        Field("BudgetedCost", "currency", label="Budgeted Cost in Campaign"),
        Field("ActualCost", "currency", label="Actual Cost in Campaign"),
        Field("ExpectedResponse", "percent", label="Expected Response (%)"),
        Field("NumberSent", "double", label="Num Sent in Campaign"),
        Field("IsActive", "boolean", label="Active"),
        Field("Description", "textarea", length=32000),
        Field("OwnerId", "reference", label="Owner ID", nillable=False, length=18,
              relationship_name="Owner", reference_to=["User"], defaulted=True),
    ] + _audit())
    member = SObject("CampaignMember", "Campaign Member", "Campaign Members", "00v", [
        Field("Id", "id", nillable=False, length=18),
        Field("IsDeleted", "boolean", label="Deleted"),
        Field("CampaignId", "reference", label="Campaign ID", nillable=False, length=18,
              relationship_name="Campaign", reference_to=["Campaign"], create_only=True),
        Field("LeadId", "reference", label="Lead ID", length=18,
              relationship_name="Lead", reference_to=["Lead"], create_only=True),
        Field("ContactId", "reference", label="Contact ID", length=18,
              relationship_name="Contact", reference_to=["Contact"], create_only=True),
        Field("Status", "picklist", length=40, picklist=MEMBER_STATUSES, restricted=False,
              default="Sent"),
        Field("HasResponded", "boolean", label="Responded"),
        Field("FirstRespondedDate", "date", label="First Responded Date"),
    ] + _audit())
    task = SObject("Task", "Task", "Tasks", "00T", [
        Field("Id", "id", nillable=False, length=18),
        Field("IsDeleted", "boolean", label="Deleted"),
        # polymorphic: a Contact or a Lead
        Field("WhoId", "reference", label="Name ID", length=18, relationship_name="Who",
              reference_to=["Contact", "Lead"]),
        # polymorphic: what the task is about
        Field("WhatId", "reference", label="Related To ID", length=18, relationship_name="What",
              reference_to=["Account", "Opportunity", "Campaign"]),
        Field("Subject", "combobox", length=255),
        Field("ActivityDate", "date", label="Due Date Only"),
        Field("Status", "picklist", nillable=False, length=40, picklist=TASK_STATUSES,
              default="Not Started"),
        Field("Priority", "picklist", nillable=False, length=40, picklist=TASK_PRIORITIES,
              default="Normal"),
        Field("Type", "picklist", length=40, picklist=TASK_TYPES),
        Field("TaskSubtype", "picklist", label="Task Subtype", length=40, picklist=TASK_SUBTYPES,
              default="Task", create_only=True),
        Field("Description", "textarea", label="Comments", length=32000),
        Field("CompletedDateTime", "datetime", label="Completed Date/Time"),
        Field("IsClosed", "boolean", label="Closed"),
        Field("OwnerId", "reference", label="Assigned To ID", nillable=False, length=18,
              relationship_name="Owner", reference_to=["User"], defaulted=True),
    ] + _audit() + [
        # a custom external-id field: an integration's event id, so that a retried upsert
        # never creates a second task
        Field("MarkMail_Event_Id__c", "string", label="MarkMail Event ID", length=255,
              external_id=True),
    ])
    return {o.name.lower(): o for o in (user, account, contact, lead, opportunity, campaign, member,
                                         task)}


# ---- ids ------------------------------------------------------------------

def id18(id15):
    """Append Salesforce's case-safe 3-character checksum to a 15-character id."""
    out = []
    for chunk in range(3):
        bits = 0
        for j in range(5):
            c = id15[chunk * 5 + j]
            if "A" <= c <= "Z":
                bits |= 1 << j
        out.append(_SUFFIX[bits])
    return id15 + "".join(out)


_B3 = None
_B3BITS = None
_hi_cache = {}
_ID_OFFSET = 3_000_000_000  # looks like a mature org, not 000000001


def _upper_bits(s):
    bits = 0
    for j, c in enumerate(s):
        if "A" <= c <= "Z":
            bits |= 1 << j
    return bits


def make_id(prefix, seq):
    """Id number `seq` of an object: prefix, instance '5g', '0', 9 base-62 digits
    and the checksum.  Base-62 digits in ASCII order keep string order equal to
    creation order, which "first N records by Id" relies on.  Table driven,
    because a million ids are made at start-up."""
    global _B3, _B3BITS
    if _B3 is None:
        _B3 = [a + b + c for a in BASE62 for b in BASE62 for c in BASE62]
        _B3BITS = [_upper_bits(s) << 2 for s in _B3]
    hi, lo = divmod(seq + _ID_OFFSET, 238328)
    key = (prefix, hi)
    h = _hi_cache.get(key)
    if h is None:
        digits = []
        n = hi
        for _ in range(6):
            n, r = divmod(n, 62)
            digits.append(BASE62[r])
        hi6 = "".join(reversed(digits))
        h = (prefix + "5g0" + hi6,
             _SUFFIX[_upper_bits(prefix + "5g")] + _SUFFIX[_upper_bits("0" + hi6[:4])],
             _upper_bits(hi6[4:]))
        if len(_hi_cache) > 4096:
            _hi_cache.clear()
        _hi_cache[key] = h
    return h[0] + _B3[lo] + h[1] + _SUFFIX[h[2] | _B3BITS[lo]]


def normalize_id(value):
    """15- or 18-character id -> 18-character form; None if it is not an id."""
    if not isinstance(value, str) or len(value) not in (15, 18) or not value.isalnum():
        return None
    if len(value) == 15:
        return id18(value)
    return id18(value[:15]) if id18(value[:15]).lower() == value.lower() else value


# ---- time -----------------------------------------------------------------

_day_cache = {}
_TOD = None   # "HH:MM:SS" for every second of a day
_MS3 = [".%03d+0000" % i for i in range(1000)]


def fmt_datetime(ms):
    """Milliseconds since the epoch -> Salesforce's '2024-05-01T10:00:00.000+0000'.
    Table driven: a million records carry three datetimes each."""
    global _TOD
    if _TOD is None:
        _TOD = ["T%02d:%02d:%02d" % (s // 3600, s // 60 % 60, s % 60) for s in range(86400)]
    days, rem = divmod(ms, 86400000)
    d = _day_cache.get(days)
    if d is None:
        d = (EPOCH + datetime.timedelta(days=days)).isoformat()
        if len(_day_cache) < 100000:
            _day_cache[days] = d
    sec, frac = divmod(rem, 1000)
    return d + _TOD[sec] + _MS3[frac]


def date_of_ms(ms):
    return (EPOCH + datetime.timedelta(days=ms // 86400000)).isoformat()


def parse_datetime(text):
    """ISO-8601 datetime with zone (Z, +hh:mm, +hhmm), up to ms -> epoch ms."""
    t = text.strip()
    if t.endswith("Z") or t.endswith("z"):
        body, off = t[:-1], 0
    else:
        sign_pos = max(t.rfind("+"), t.rfind("-"))
        if sign_pos < 11:
            raise ValueError("datetime needs a time zone: " + text)
        body, zone = t[:sign_pos], t[sign_pos:]
        zone = zone.replace(":", "")
        if len(zone) != 5 or not zone[1:].isdigit():
            raise ValueError("bad time zone in " + text)
        off = (int(zone[1:3]) * 60 + int(zone[3:5])) * 60000
        if zone[0] == "-":
            off = -off
    if len(body) < 19 or body[10] not in "Tt":
        raise ValueError("bad datetime: " + text)
    date = datetime.date(int(body[0:4]), int(body[5:7]), int(body[8:10]))
    if body[4] != "-" or body[7] != "-" or body[13] != ":" or body[16] != ":":
        raise ValueError("bad datetime: " + text)
    hh, mm, ss = int(body[11:13]), int(body[14:16]), int(body[17:19])
    if hh > 23 or mm > 59 or ss > 59:
        raise ValueError("bad time in " + text)
    frac = body[19:]
    ms = 0
    if frac:
        if frac[0] != "." or not frac[1:].isdigit() or not 1 <= len(frac) - 1 <= 3:
            raise ValueError("bad fraction in " + text)
        ms = int((frac[1:] + "00")[:3])
    days = (date - EPOCH).days
    return days * 86400000 + ((hh * 60 + mm) * 60 + ss) * 1000 + ms - off


def parse_date(text):
    d = datetime.date(int(text[0:4]), int(text[5:7]), int(text[8:10]))
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        raise ValueError("bad date: " + text)
    return d.isoformat()


# ---- value pools ----------------------------------------------------------
# (display, ascii slug) pairs; slugs build e-mail addresses.
FIRST_NAMES = [
    ("James", "james"), ("Mary", "mary"), ("Robert", "robert"), ("Patricia", "patricia"),
    ("John", "john"), ("Jennifer", "jennifer"), ("Michael", "michael"), ("Linda", "linda"),
    ("David", "david"), ("Elizabeth", "elizabeth"), ("William", "william"), ("Susan", "susan"),
    ("Richard", "richard"), ("Jessica", "jessica"), ("Thomas", "thomas"), ("Sarah", "sarah"),
    ("Daniel", "daniel"), ("Karen", "karen"), ("Matthew", "matthew"), ("Nancy", "nancy"),
    ("José", "jose"), ("Zoë", "zoe"), ("Søren", "soren"), ("Björn", "bjorn"),
    ("François", "francois"), ("Łukasz", "lukasz"), ("Ángel", "angel"), ("Chloé", "chloe"),
    ("Jürgen", "jurgen"), ("Ólafur", "olafur"), ("Siobhán", "siobhan"), ("Renée", "renee"),
    ("美咲", "misaki"), ("Дмитрий", "dmitry"), ("Αλέξης", "alexis"), ("Anaïs", "anais"),
    ("Priya", "priya"), ("Wei", "wei"), ("Aisha", "aisha"), ("Mateo", "mateo"),
    ("O'Neil", "oneil"), ("Anne-Marie", "annemarie"), ("Sven", "sven"), ("Ingrid", "ingrid"),
]
LAST_NAMES = [
    ("Smith", "smith"), ("Johnson", "johnson"), ("Williams", "williams"), ("Brown", "brown"),
    ("Jones", "jones"), ("Garcia", "garcia"), ("Miller", "miller"), ("Davis", "davis"),
    ("Rodriguez", "rodriguez"), ("Martinez", "martinez"), ("Hernandez", "hernandez"),
    ("Lopez", "lopez"), ("Wilson", "wilson"), ("Anderson", "anderson"), ("Taylor", "taylor"),
    ("Thomas", "thomas"), ("Moore", "moore"), ("Jackson", "jackson"), ("Martin", "martin"),
    ("Lee", "lee"), ("Müller", "muller"), ("Østergaard", "ostergaard"), ("Núñez", "nunez"),
    ("Kowalczyk", "kowalczyk"), ("Dubois", "dubois"), ("O'Brien", "obrien"),
    ("van der Berg", "vanderberg"), ("Ñañez", "nanez"), ("Şahin", "sahin"), ("Nguyễn", "nguyen"),
    ("田中", "tanaka"), ("Иванов", "ivanov"), ("Παπαδόπουλος", "papadopoulos"),
    ("Sørensen", "sorensen"), ("Ó Súilleabháin", "osullivan"), ("Zhang", "zhang"),
    ("Patel", "patel"), ("Kim", "kim"), ("Fischer", "fischer"), ("De Luca", "deluca"),
]
COMPANIES = [
    "Acme Corporation", "Globex", "Initech", "Umbrella Holdings", "Stark Industries",
    "Wayne Enterprises", "Hooli", "Soylent Systems", "Vandelay Industries", "Tyrell Corp",
    "Cyberdyne Systems", "Wonka Industries", "Massive Dynamic", "Oscorp", "Gringotts Bank",
    "Müller & Söhne GmbH", "Société Générale des Eaux", "Ñandú Logística S.A.",
    "東京システム株式会社", "Nordisk Ålesund AS", "O'Reilly Freight", "Smith & Wesson Partners",
    "\"Quoted\" Widgets Ltd", "Back\\slash Analytics", "Zürich Versicherungs AG",
]
DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com", "corp.example"]
TITLES = ["CEO", "CTO", "VP Sales", "Sales Manager", "Account Executive", "Engineer",
          "Marketing Director", "Procurement Lead", "Office Manager", "Consultant",
          "Directeur Général", "Geschäftsführer", "Head of Data & Analytics"]
DEPARTMENTS = ["Sales", "Marketing", "Engineering", "Finance", "Operations", "IT",
               "Human Resources", "Procurement"]
CITIES = [
    ("San Francisco", "CA", "94105", "United States"), ("New York", "NY", "10001", "United States"),
    ("Austin", "TX", "73301", "United States"), ("Chicago", "IL", "60601", "United States"),
    ("London", None, "EC1A 1BB", "United Kingdom"), ("Amsterdam", "NH", "1012 AB", "Netherlands"),
    ("München", "BY", "80331", "Germany"), ("São Paulo", "SP", "01000-000", "Brazil"),
    ("Kraków", None, "30-001", "Poland"), ("Tōkyō", None, "100-0001", "Japan"),
    ("Reykjavík", None, "101", "Iceland"), ("Montréal", "QC", "H2Y 1C6", "Canada"),
    ("Zürich", "ZH", "8001", "Switzerland"), ("Sydney", "NSW", "2000", "Australia"),
]
STREETS = ["Main St", "Market Street", "Oak Avenue", "Keizersgracht", "Hauptstraße",
           "Rue de Rivoli", "Calle Mayor", "Elm Road", "Ulica Floriańska", "Broadway"]
SHORT_DESCRIPTIONS = [
    "Met at the spring conference.",
    "Interested in the enterprise plan; follow up next quarter.",
    "Prefers e-mail. Do not call before 10:00.",
    "Referred by an existing customer — très enthousiaste!",
    "Line one\nLine two\n\tIndented line with a \"quote\" and a back\\slash.",
    "Budget approved: €25.000 / $27,000 (FY24).",
    "顧客からの紹介。来月フォローアップ。",
]


def _long_description(i):
    para = ("This account has a long history with us. Notes from calls, meetings and "
            "e-mails are kept here so the whole team can see them. Ünïcödé and \"quotes\" "
            "and back\\slashes and tabs\tappear too. ")
    return ("[%d] " % i) + para * (12 + i * 7)


DESCRIPTIONS = SHORT_DESCRIPTIONS + [_long_description(i) for i in range(3)]


def _phone(r, style):
    a, b = divmod(r, 10000)
    area = 200 + a % 800
    if style == 0:
        return "(%03d) 555-%04d" % (area, b)
    if style == 1:
        return "+1 %03d 555 %04d" % (area, b)
    if style == 2:
        return "+44 20 7946 %04d" % b
    return "+31 6 %04d %04d" % (area, b)


# ---- generation -----------------------------------------------------------

class _Pools:
    """Prebuilt value pools shared by all generated records (built once)."""

    def __init__(self):
        self.names = [(f, l, f + " " + l, fs + "." + ls)
                      for f, fs in FIRST_NAMES for l, ls in LAST_NAMES]
        self.phones = [_phone(n * 7919 % 10000000, n % 4) for n in range(1 << 16)]
        self.mobiles = [_phone(n * 104729 % 10000000, 3) for n in range(1 << 14)]
        self.streets = ["%d %s" % (1 + n // len(STREETS), STREETS[n % len(STREETS)])
                        for n in range(2500 * len(STREETS))]


_pools_cache = []


def _pools():
    if not _pools_cache:
        _pools_cache.append(_Pools())
    return _pools_cache[0]


class Generator:
    """Seeded record factory.  The initial data set is generated in one pass;
    later creations use the same factory so created records look alike."""

    def __init__(self, schemas, seed, id_base=0):
        self.schemas = schemas
        self.seed = seed
        # added to every sequence number: orgs of one stand-in get distinct ids,
        # as Salesforce ids are unique across orgs
        self.id_base = id_base
        self.users = []
        self.accounts = []
        self.contacts = []

    def _rng(self, tag):
        return random.Random("%s/%s" % (self.seed, tag))

    @staticmethod
    def _stamps(rng, n, same):
        """n distinct millisecond stamps in generation order, shuffled so that Id
        order and SystemModstamp order differ; `same` of them then share one."""
        span = GEN_END_MS - GEN_START_MS
        step = max(1, span // max(n, 1))
        # slot (i * p) mod n is a permutation of 0..n-1 when p and n are coprime;
        # p near n / golden ratio scatters neighbouring ids far apart
        p = max(1, int(n * 0.6180339887))
        while math.gcd(p, n) != 1:
            p += 1
        bits = rng.getrandbits
        stamps = [GEN_START_MS + (i * p % n) * step + bits(40) % step for i in range(n)]
        if same and n:
            same = min(same, n)
            chosen = rng.sample(range(n), same)
            shared = stamps[chosen[0]]
            for i in chosen:
                stamps[i] = shared
        return stamps

    def generate(self, accounts, contacts, leads, same_modstamp=0):
        """Return {object_lower: [record tuple, ...]} in Id order."""
        out = {}
        out["user"] = self._gen_users(20)
        out["account"] = self._gen_accounts(accounts)
        out["contact"] = self._gen_people("contact", contacts, same_modstamp, 0)
        out["lead"] = self._gen_people("lead", leads, same_modstamp, 0)
        for name in ("opportunity", "campaign", "campaignmember", "task"):
            out[name] = []  # none generated: created through the API
        return out

    def _gen_users(self, n):
        rng = self._rng("user")
        rows = []
        for i in range(n):
            first, fslug = FIRST_NAMES[rng.randrange(len(FIRST_NAMES))]
            last, lslug = LAST_NAMES[rng.randrange(len(LAST_NAMES))]
            uid = make_id("005", self.id_base + i)
            ts = GEN_START_MS - 86400000 * (30 + i)
            rows.append((uid, "%s.%s%d@example.com" % (fslug, lslug, i), first, last,
                         first + " " + last, "%s.%s%d@example.com" % (fslug, lslug, i),
                         i % 7 != 6, ts, ts, ts))
        self.users = [r[0] for r in rows]
        return rows

    def _gen_accounts(self, n):
        rng = self._rng("account")
        stamps = self._stamps(rng, n, 0)
        rows = []
        for i in range(n):
            rows.append(self.account_row(make_id("001", self.id_base + i), rng, stamps[i], i))
        self.accounts = [r[0] for r in rows]
        return rows

    def account_row(self, aid, rng, modstamp, i, name=None):
        r = rng.getrandbits(64)
        city, state, postal, country = CITIES[r % len(CITIES)]
        r //= len(CITIES)
        if name is None:
            base = COMPANIES[i % len(COMPANIES)]
            name = base if i < len(COMPANIES) else "%s %d" % (base, i // len(COMPANIES))
        created = modstamp - (r % max(1, modstamp - GEN_START_MS + 1))
        r //= 1 << 20
        desc = DESCRIPTIONS[r % len(DESCRIPTIONS)] if r % 3 == 0 else None
        return (aid, False, name,
                ["Prospect", "Customer - Direct", "Customer - Channel", "Partner"][r % 4],
                INDUSTRIES[(r >> 3) % len(INDUSTRIES)] if r % 5 else None,
                "%d %s" % (1 + r % 999, STREETS[(r >> 5) % len(STREETS)]),
                city, state, postal, country, _phone(r % 10000000, r % 4),
                "https://www.example.com/%d" % i if r % 4 else None,
                float((r >> 7) % 50000) * 1000.0 if r % 6 else None,
                (r >> 9) % 20000 if r % 7 else None,
                desc, self.users[r % len(self.users)], created, modstamp, modstamp)

    def _gen_people(self, kind, n, same, first_seq):
        rng = self._rng(kind)
        stamps = self._stamps(rng, n, same)
        prefix = "003" if kind == "contact" else "00Q"
        build = self.contact_row if kind == "contact" else self.lead_row
        rows = [build(make_id(prefix, self.id_base + first_seq + i), rng, stamps[i], first_seq + i)
                for i in range(n)]
        if kind == "contact":
            self.contacts = [r[0] for r in rows[:1000]]
        return rows

    def _person(self, rng, modstamp, i):
        """Fields shared by Contact and Lead.  Drawn from two 64-bit random
        words and prebuilt pools: a million people must generate in seconds."""
        pools = _pools()
        a = rng.getrandbits(64)
        b = rng.getrandbits(64)
        first, last, name, slug = pools.names[(a & 0xFFFF) % len(pools.names)]
        if (a >> 16) % 23 == 0:
            first, name = None, last
        email = None if (a >> 21) % 9 == 0 else "%s.%d@%s" % (slug, i, DOMAINS[(a >> 25) % 5])
        phone = None if (a >> 29) % 6 == 0 else pools.phones[(a >> 32) & 0xFFFF]
        mobile = None if (a >> 48) % 3 == 0 else pools.mobiles[(a >> 50) & 0x3FFF]
        city, state, postal, country = CITIES[b % len(CITIES)]
        street = None if (b >> 4) % 11 == 0 else \
            pools.streets[((b >> 8) & 0xFFFF) % len(pools.streets)]
        title = None if (b >> 24) % 8 == 0 else TITLES[(b >> 27) % len(TITLES)]
        desc = DESCRIPTIONS[(b >> 31) % len(DESCRIPTIONS)] if (b >> 35) % 5 < 2 else None
        source = None if (b >> 38) % 4 == 0 else LEAD_SOURCES[(b >> 40) % len(LEAD_SOURCES)]
        owner = self.users[(b >> 43) % len(self.users)]
        r = rng.getrandbits(64)
        created = modstamp - (r % max(1, modstamp - GEN_START_MS + 1))
        lastmod = modstamp if (r >> 40) % 5 else max(created,
                                                     modstamp - 1 - (r >> 44) % 86400000)
        return (rng.getrandbits(64), first, last, name, email, phone, mobile, street, city,
                state, postal, country, title, desc, source, owner, created, lastmod)

    def contact_row(self, cid, rng, modstamp, i):
        (r, first, last, name, email, phone, mobile, street, city, state, postal, country,
         title, desc, source, owner, created, lastmod) = self._person(rng, modstamp, i)
        account = self.accounts[r % len(self.accounts)] if self.accounts and r % 7 else None
        r //= 7
        dept = None if r % 4 == 0 else DEPARTMENTS[(r >> 2) % len(DEPARTMENTS)]
        row = (cid, False, account, last, first, name, street, city, state, postal, country,
               phone, mobile, email, title, dept, source, desc, owner,
               r % 13 == 0, r % 10 == 1, created, lastmod, modstamp, None)
        extra = self.schemas["contact"].fields[len(row):]
        if extra:  # --custom-fields: empty (booleans false, as Salesforce keeps them)
            row += tuple(False if f.type == "boolean" else None for f in extra)
        return row

    def lead_row(self, lid, rng, modstamp, i):
        (r, first, last, name, email, phone, mobile, street, city, state, postal, country,
         title, desc, source, owner, created, lastmod) = self._person(rng, modstamp, i)
        company = COMPANIES[r % len(COMPANIES)]
        r //= len(COMPANIES)
        rating = None if r % 4 == 0 else RATINGS[(r >> 2) % 3]
        r //= 4
        converted = r % 20 == 0 and bool(self.contacts) and bool(self.accounts)
        r //= 20
        if converted:
            status = "Closed - Converted"
            conv_date = date_of_ms(lastmod)
            conv_contact = self.contacts[r % len(self.contacts)]
            conv_account = self.accounts[(r >> 10) % len(self.accounts)]
        else:
            status = LEAD_STATUSES[(0, 1, 3)[r % 3]]
            conv_date = conv_contact = conv_account = None
        r //= 3
        return (lid, False, last, first, name, title, company, street, city, state, postal,
                country, phone, mobile, email, desc, source, status, rating, owner,
                r % 13 == 0, r % 10 == 1, converted, conv_date, conv_account, conv_contact,
                created, lastmod, modstamp)


def check_layouts(schemas):
    """Guard: generated tuples must match the schema field order."""
    g = Generator(schemas, 0)
    rows = g.generate(3, 3, 3)
    for name, recs in rows.items():
        width = len(schemas[name].fields)
        for rec in recs:
            if len(rec) != width:
                raise AssertionError("%s row has %d values, schema %d" % (name, len(rec), width))
