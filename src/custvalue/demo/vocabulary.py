"""The demo world's vocabulary: segments, archetypes, what the truth holds, and the
pools of names, notes and payloads it draws from."""

from __future__ import annotations

import numpy as np

from custvalue.contract import INCIDENT_KINDS

SEGMENTS = ("enterprise", "mid-market", "small-business")
ENTERPRISE, MID_MARKET, SMALL_BUSINESS = 0, 1, 2
ABUSE, AVOIDANCE, DEMAND, PRICE_PRESSURE, WITHHELD, BREACH = (
    INCIDENT_KINDS.index(kind)
    for kind in ("abusive_conduct", "staff_avoidance", "unreasonable_demand", "price_pressure", "info_withheld", "contract_breach")
)
ARCHETYPES = (
    "support_hog",
    "rush_addict",
    "price_pressurer",
    "late_payer_small",
    "non_payer",
    "abusive",
    "profitable_late_enterprise",
    "growing_small",
    "we_caused",
    "one_bad_quarter",
    "already_left",
    "ordinary",
)
"""Every archetype of the ground truth, in a fixed order."""
CHRONIC_ARCHETYPES = ARCHETYPES[:6]
"""Archetypes that are bad in every quarter of their life (let go when still active)."""
STATUSES = ("let_go", "final_notice", "watch", "healthy", "inactive")
TABLE_NAMES = ("customers", "orders", "invoices", "support_tickets", "incidents")
TRUTH_COLUMNS = (
    "customer_id",
    "archetype",
    "segment",
    "bad_quarters",
    "expected_status",
    "flagged_expected",
    "expected_strikes",
    "behaviour",
    "silent_churn",
    "hostile_name",
    "detectable",
    "single_order",
)

(HOG, RUSH, PRICER, LATE_PAYER, NON_PAYER, ABUSIVE, LATE_ENTERPRISE, GROWING, WE_CAUSED, ONE_BAD, LEFT, ORDINARY) = range(12)
CHRONIC = (HOG, RUSH, PRICER, LATE_PAYER, NON_PAYER, ABUSIVE)

HOSTILE_TEXTS = (
    "<script>alert(1)</script>",
    '=HYPERLINK("http://x","y")',
    "<b>bold</b> Supplies",
    "+SUM(1,2) Trading",
    "-2+3 Logistics",
    "@SUM(A1:A9)",
    '<img src=x onerror="alert(1)">',
    "=cmd|' /C calc'!A0",
    "Robert'); DROP TABLE customers;--",
    "</td></tr><tr><td>injected",
)
"""Payloads put into customer names and incident notes when ``hostile_names`` is set."""

# Archetype: (customers per 1,000, minimum count, segment probabilities (ent, mid, small)).
PLAN: dict[int, tuple[float, int, tuple[float, float, float]]] = {
    HOG: (12, 4, (0.0, 0.25, 0.75)),
    RUSH: (12, 4, (0.0, 0.0, 1.0)),
    PRICER: (10, 4, (0.0, 1.0, 0.0)),
    LATE_PAYER: (12, 4, (0.0, 0.0, 1.0)),
    NON_PAYER: (10, 4, (0.0, 0.4, 0.6)),
    ABUSIVE: (8, 4, (0.0, 0.4, 0.6)),
    LATE_ENTERPRISE: (5, 3, (1.0, 0.0, 0.0)),
    GROWING: (10, 4, (0.0, 0.0, 1.0)),
    WE_CAUSED: (8, 4, (0.15, 0.35, 0.5)),
    ONE_BAD: (10, 4, (0.0, 0.35, 0.65)),
}
LEFT_PLAN = (15, 6)
LEFT_BAD_SHARE = 0.4
LEFT_BAD_CYCLE = (HOG, RUSH, NON_PAYER, ABUSIVE, PRICER)
SEGMENT_SHARE = (0.05, 0.25, 0.70)
MIN_CUSTOMERS = 200

# Calendar-month seasonality (Jan..Dec): summer dip, Q4 peak.
SEASON = np.array([0.90, 0.92, 1.00, 0.98, 1.00, 0.95, 0.85, 0.82, 1.00, 1.12, 1.30, 1.18])
FULL_QUARTER_DAYS = 20  # a quarter with at least this much activity gets the planted minimums
WRITE_OFF_AFTER = 120  # days past due before an unpaid invoice is written off
DUE_DAYS = 30

# Ticket channel mixes (phone, email, chat, onsite) and minutes ranges per channel.
CHANNEL_MIX_NORMAL = np.array([[0.30, 0.38, 0.20, 0.12], [0.32, 0.40, 0.22, 0.06], [0.30, 0.42, 0.25, 0.03]])
CHANNEL_MIX_QUIET = np.array([0.30, 0.45, 0.25, 0.0])
CHANNEL_MIX_HOG = np.array([0.50, 0.25, 0.10, 0.15])
CHANNEL_MIX_OURS = np.array([0.35, 0.45, 0.15, 0.05])
MINUTES_NORMAL = np.array([[15, 60], [10, 30], [10, 25], [120, 240]])
MINUTES_HOG = np.array([[40, 120], [20, 60], [20, 45], [150, 300]])

NOTES = {
    ABUSE: (
        "Shouted at the driver on delivery",
        "Insulting emails to the order desk",
        "Threatened warehouse staff on the phone",
        "Swore at the support agent, call ended",
    ),
    AVOIDANCE: (
        "Refuses to deal with the assigned account manager",
        "Went around support straight to the director",
        "Ignores calls from credit control",
    ),
    DEMAND: (
        "Demanded same-day delivery at no charge",
        "Wants pallets relabelled in their own format, free",
        "Insisted on 90-day terms for a 10-line order",
    ),
    PRICE_PRESSURE: (
        "Asked for 15% off or they move to a competitor",
        'Quoted a "better price" from another supplier',
        "Wants last year's prices, again",
    ),
    WITHHELD: (
        "Did not share the forecast needed for allocation",
        "Delivery address changed without telling us",
        "Would not say which site the goods were for",
    ),
    BREACH: (
        "Resold goods outside the licensed territory",
        "Returned used stock as new, against the terms",
    ),
}

# Company-name pools (untrusted text: apostrophes, ampersands, accents, commas, quotes).
NAME_PREFIX = (
    "Acme", "Northwind", "Blue Ridge", "Harbor", "Summit", "Pioneer", "Granite", "Silverline",
    "Oakwood", "Redstone", "Evergreen", "Lakeside", "Ironbridge", "Maple", "Crescent", "Falcon",
    "Keystone", "Meridian", "Riverside", "Sterling", "Cedar", "Atlas", "Beacon", "Horizon",
    "Westfield", "Eastgate", "Brightwater", "Copperfield", "Highland", "Kingsway", "Müller",
    "Søndergaard", "Café Lumière", "Zürich", "Łódź", "Ångström", "Besançon", "Peña", "São Paulo",
    "Dvořák", "O'Neill", "L'Atelier", "D'Angelo", "Northstar", "Bayview", "Fjord", "Aurora",
)
NAME_SURNAME = (
    "Smith", "Jones", "Patel", "García", "Nguyen", "O'Brien", "Kowalski", "Andersson", "Rossi",
    "Dubois", "Schäfer", "Núñez", "Kim", "Okafor", "Haddad", "Müller", "Novák", "Brennan",
)
NAME_TRADE = (
    "Supplies", "Trading", "Logistics", "Industrial", "Components", "Foods", "Hardware",
    "Electrical", "Packaging", "Plumbing", "Tools", "Textiles", "Builders", "Engineering",
    "Medical", "Office", "Auto Parts", "Garden", "Chemicals", "Distribution", "Instruments",
    "Marine", "Bakery", "Catering", "Print",
)
NAME_SUFFIX = (
    "Ltd", "Inc.", "LLC", "GmbH", "S.A.", "B.V.", "& Co", "& Sons", "Group", "Partners", "AG",
    "Oy", "SARL", "Corp.", "",
)
ODD_NAMES = (
    'The "Best" Widgets Co',
    "Smith, Jones & Partners",
    "Ça Va Bien S.à r.l.",
    "Ünal & Öztürk Ticaret",
    "Mom & Pop's Hardware",
)
REGIONS = ("North", "South", "East", "West", "Central")
MANAGERS = (
    "Alice Moreau", "Ben Carter", "Chloé Dupont", "Dmitri Volkov", "Eva Lindqvist", "Farid Haddad",
    "Grace O'Connor", "Hiro Tanaka", "Isabel Núñez", "Jonas Becker", "Kara Mensah", "Zoë Ng",
)
