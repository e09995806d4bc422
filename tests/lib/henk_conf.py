"""tests/lib/henk_conf.py - turning conf/henk.ini's tenant template into a job of its own.

Used by tests/lib/henk.sh (henk_single_conf) and tests/lib/henk_multi.sh
(henk_business_conf).
"""


def untenant(text):
    """${tenant.X:-DEFAULT} -> DEFAULT (nested braces kept whole)."""
    while True:
        i = text.find("${tenant.")
        if i < 0:
            return text
        j = text.find(":-", i)
        depth, end = 0, None
        for p in range(j + 2, len(text)):
            if text.startswith("${", p):
                depth += 1
            elif text[p] == "}":
                if depth == 0:
                    end = p
                    break
                depth -= 1
        text = text[:i] + text[j + 2:end] + text[end + 1:]


def single_line(line):
    """One line of conf/henk.ini made part of a job of its own, or None to drop it:
    the tenants list and the tenants' business go, ${tenant.business_id} and
    ${tenant.id} become HENK_BUSINESS_ID and HENK_INTEGRATION_ID, the other
    ${tenant.X:-DEFAULT} their DEFAULT."""
    if line.startswith("tenants = ") or line.startswith("var.HENK_BUSINESS_ID = "):
        return None
    line = line.replace("${tenant.business_id}", "${HENK_BUSINESS_ID}").replace("${tenant.id}", "${HENK_INTEGRATION_ID}")
    return untenant(line)
