"""What the households decide and how: the matters of Law 10/2022/QH15 Art. 15 and one table of rules.

The table is data. For each matter and scope it says which methods may decide it, the quorum of a meeting,
the share of households that must agree, what the denominator is and where the rule comes from. A lawyer
changes a row here, not an `if` elsewhere; the decision stores the row that applied (threshold,
denominator, date, article) and prints it on its record; /admin/decision-rules shows the table.

Pure functions only: plain arguments in, a value or a CivicError out.
"""

from __future__ import annotations

from dataclasses import dataclass

from civic.errors import N_, Conflict, Invalid
from civic.items.rules import ItemAsks

# Law 10/2022/QH15 Art. 15: what the citizens of a village (or of the commune) discuss and decide directly.
MATTERS: dict[int, str] = {
    1: N_("Contributions to build infrastructure and public works"),
    2: N_("Collecting and spending the contributions"),
    3: N_("The village convention"),
    4: N_("Electing or dismissing the village head"),
    5: N_("Electing or dismissing board members (inspection, investment supervision)"),
    6: N_("Other self-managed affairs of the community"),
}
MATTER_ARTICLE = "Luật 10/2022/QH15, Điều 15"
CONTRIBUTION_MATTERS = frozenset({1, 2})
SCOPES: dict[str, str] = {"village": N_("One village"), "commune": N_("The whole commune")}

MEETING_VOTE, PAPER_BALLOT = "meeting_vote", "paper_ballot"
ONLINE_BALLOT, AUTHORITY = "online_ballot", "authority"
HOUSEHOLD_METHODS = frozenset({MEETING_VOTE, PAPER_BALLOT})
# A commune-wide matter: each village decides by a household method (its meeting or its household ballot)
# and the commune adds the villages' results up (civic.deliberation.rules.add_up).
VILLAGE_RESULTS = "village_results"

# The thresholds, as the share of ALL households of the denominator that must agree.
MORE_THAN_HALF, TWO_THIRDS = "more_than_half", "two_thirds"
THRESHOLDS: dict[str, str] = {
    MORE_THAN_HALF: N_("more than half of all households"),
    TWO_THIRDS: N_("at least two thirds of all households"),
}
DENOMINATORS: dict[str, str] = {
    "village": N_("every household of the village's register on the decision date"),
    "commune": N_("every household of the commune's register on the decision date; the villages meet "
                  "separately and their results are added up"),
}
REASON_MIN, REASON_MAX = 10, 400


@dataclass(frozen=True)
class Rule:
    matter: int
    scope: str
    methods: frozenset[str]
    quorum: str  # share of all households that must be represented at a meeting
    threshold: str
    article: str
    secondary: bool = False  # the row rests on a secondary source, not on the primary legal text
    online_needs_agreement: bool = False

    @property
    def denominator(self) -> str:
        return DENOMINATORS[self.scope]


# Village scope (Law 10/2022/QH15 Art. 18 and 21-22): a meeting is valid when more than half of the
# village's households are represented, a decision passes when more than half of ALL its households agree.
# Matters 1-5 are decided by the households themselves: at a meeting or by a household ballot, never online
# (Decree 59/2023/ND-CP Art. 5 allows online voting only for other self-managed affairs, after the community
# agreed and the commune People's Committee and the Front were informed) and never by an authority.
_VILLAGE_ARTICLE = "Luật 10/2022/QH15, Điều 18, 21, 22"
_ONLINE_ARTICLE = "Luật 10/2022/QH15, Điều 18, 21, 22; Nghị định 59/2023/NĐ-CP, Điều 5"
# Commune scope: every household of the commune is the denominator. For commune-wide contributions a
# secondary source (a Ministry of Justice quiz key on Art. 21(1)) gives at least two thirds of all household
# representatives of the commune; the primary text was not at hand, so the row is marked as such.
_COMMUNE_ARTICLE = "Luật 10/2022/QH15, Điều 15(1), 21"
_COMMUNE_SECONDARY = "Luật 10/2022/QH15, Điều 21(1) (nguồn thứ cấp)"


def _table() -> dict[tuple[int, str], Rule]:
    table: dict[tuple[int, str], Rule] = {}
    for matter in MATTERS:
        if matter == 6:
            table[(matter, "village")] = Rule(
                matter, "village", HOUSEHOLD_METHODS | {ONLINE_BALLOT, AUTHORITY}, MORE_THAN_HALF,
                MORE_THAN_HALF, _ONLINE_ARTICLE, online_needs_agreement=True)
        else:
            table[(matter, "village")] = Rule(matter, "village", HOUSEHOLD_METHODS, MORE_THAN_HALF,
                                              MORE_THAN_HALF, _VILLAGE_ARTICLE)
        if matter in CONTRIBUTION_MATTERS:
            table[(matter, "commune")] = Rule(matter, "commune", HOUSEHOLD_METHODS, MORE_THAN_HALF,
                                              TWO_THIRDS, _COMMUNE_SECONDARY, secondary=True)
        else:
            table[(matter, "commune")] = Rule(matter, "commune", HOUSEHOLD_METHODS, MORE_THAN_HALF,
                                              MORE_THAN_HALF, _COMMUNE_ARTICLE)
    return table


RULES: dict[tuple[int, str], Rule] = _table()


def rule_for(matter: int, scope: str) -> Rule:
    rule = RULES.get((matter, scope))
    if rule is None:
        raise Invalid(N_("Please choose what kind of matter the households decide."), field="matter")
    return rule


def reaches(share: str, count: int, total: int) -> bool:
    """`count` households out of `total` reach the share: more than half (exactly half is not enough), or
    at least two thirds. Never for an empty register."""
    if total <= 0 or count > total:
        return False
    if share == TWO_THIRDS:
        return count * 3 >= total * 2
    return count * 2 > total


def passes(rule: Rule, in_favour: int, total: int) -> bool:
    return reaches(rule.threshold, in_favour, total)


def has_quorum(rule: Rule, present: int, total: int) -> bool:
    return reaches(rule.quorum, present, total)


# --- the matter follows from the item's data ----------------------------------------------------------

# What the proposal asks of each household: the item's own asks (civic.items.rules), or the village
# head's figures when the discussion opens.
Asks = ItemAsks


def with_item_asks(given: Asks, item: Asks) -> Asks:
    """The asks a discussion opens with: what the proposal itself asked households for, each replaced by
    the village head's figure where one is given. An ask the item states cannot be dropped by leaving its
    field empty; recording the proposal as another matter takes the public reason (check_matter)."""
    return Asks(given.land_m2 if given.land_m2 is not None else item.land_m2,
                given.money if given.money is not None else item.money,
                given.labour_days if given.labour_days is not None else item.labour_days,
                given.materials or item.materials)


def required_matters(asks: Asks) -> frozenset[int]:
    """The matters the item's data allows without a reason: a proposal asking households for land, money,
    labour or materials is a contribution (Art. 15, matters 1 or 2)."""
    return CONTRIBUTION_MATTERS if asks.any else frozenset(MATTERS)


def is_lowered(matter: int, asks: Asks) -> bool:
    return matter not in required_matters(asks)


def check_matter(matter: int, scope: str, asks: Asks, reason: str) -> None:
    """The matter cannot be lowered below what the item's data says without a recorded reason."""
    rule_for(matter, scope)
    if is_lowered(matter, asks) and len(reason.strip()) < REASON_MIN:
        raise Invalid(N_("This proposal asks households for land, money, labour or materials, so it is a "
                         "contribution (Law 10/2022 Art. 15, matter 1 or 2). To record it as another matter, "
                         "give the public reason (10 to 400 characters)."), field="matter_reason",
                      asks=", ".join(asks.kinds))


# --- methods ------------------------------------------------------------------------------------------

def check_method(rule: Rule, method: str, *, online_agreed: bool = False, front_agreed: bool = False) -> None:
    """The method is one the table allows for this matter and scope. An online ballot also needs the
    community's acceptance and the information of the commune (`online_agreed`, typed by the village head)
    and the village Front work committee's agreement, recorded by that committee's head (`front_agreed`)."""
    if method not in (MEETING_VOTE, PAPER_BALLOT, ONLINE_BALLOT, AUTHORITY):
        raise Invalid(N_("Please choose how the households decide."), field="method")
    if method not in rule.methods:
        if method == ONLINE_BALLOT:
            raise Conflict(N_("An online ballot is allowed only for other self-managed affairs (Decree "
                              "59/2023 Art. 5), not for this matter: decide it at a meeting or by a "
                              "household paper ballot."))
        if method == AUTHORITY:
            raise Conflict(N_("This matter must be decided by the households (Law 10/2022 Art. 15), not by "
                              "an authority."))
        raise Conflict(N_("This method is not allowed for this matter."))
    if method == ONLINE_BALLOT and rule.online_needs_agreement and not online_agreed:
        raise Invalid(N_("An online ballot needs the community's agreement and the information of the "
                         "commune People's Committee and the Front: give their dates and references."),
                      field="agreed_on")
    if method == ONLINE_BALLOT and rule.online_needs_agreement and not front_agreed:
        # Decree 59/2023/NĐ-CP Art. 5: the village head and the village Front work committee agree.
        raise Conflict(N_("An online ballot needs the agreement of the village Front work committee (Decree "
                          "59/2023 Art. 5), recorded by the head of that committee from their own account."))


def allows_pledges(matter: int, scope: str, method: str) -> bool:
    """Land, money, labour and material pledges follow a decision taken by a method the table allows both
    for the item's matter and for a contribution (matter 1) of the same scope. The villages' results added
    up by the commune are household methods, each village's own."""
    if method == VILLAGE_RESULTS:
        return scope == "commune" and rule_for(matter, scope).methods <= HOUSEHOLD_METHODS
    return method in rule_for(matter, scope).methods and method in rule_for(1, scope).methods


def check_pledge_decision(matter: int | None, scope: str, method: str | None) -> None:
    """Refuses a contribution pledge on an item decided by a method the table does not allow for it."""
    if method is None or matter is None:
        return
    if not allows_pledges(matter, scope, method):
        raise Conflict(N_("This item was decided by a method that cannot decide contributions of land, money "
                          "or labour (Law 10/2022 Art. 15; Decree 59/2023 Art. 5): no pledge can be "
                          "accepted. The households must decide it at a meeting or by a household paper "
                          "ballot."))
