"""How the inhabitants' pages write figures, days and clock times in French ("1 234,5 kWh", "mardi 14 juillet")."""

from __future__ import annotations

from datetime import date

#: French typography: a narrow no-break space between thousands, a no-break space before a unit.
THOUSANDS = "\u202f"
UNIT_SPACE = "\u00a0"
UNKNOWN = "pas encore connu"
DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")
#: Fixed-date public holidays and customary nights, named when an exception falls on them.
NAMED_NIGHTS = {
    (1, 1): "Jour de l'an", (5, 1): "Fête du travail", (5, 8): "Victoire 1945", (7, 13): "veille de la Fête nationale",
    (7, 14): "Fête nationale", (8, 15): "Assomption", (11, 1): "Toussaint", (11, 11): "Armistice",
    (12, 24): "veille de Noël", (12, 25): "Noël", (12, 31): "Saint-Sylvestre",
}


def nombre(value: float | None, digits: int = 1) -> str:
    """'1 234,5' (narrow no-break spaces between thousands, a decimal comma); UNKNOWN when None."""
    if value is None:
        return UNKNOWN
    text = f"{value:,.{digits}f}"
    if text.lstrip("-").strip("0,.") == "":
        text = text.lstrip("-")  # no "-0,0"
    return text.replace(",", THOUSANDS).replace(".", ",")


def quantite(value: float | None, unit: str, digits: int = 1, unknown: str = UNKNOWN) -> str:
    """'1 234,5 kWh' (a no-break space before the unit); `unknown` when None."""
    return unknown if value is None else f"{nombre(value, digits)}{UNIT_SPACE}{unit}"


def heure(hhmm: str | None) -> str:
    """'21:58' -> '21 h 58', '05:30' -> '5 h 30'; UNKNOWN when None."""
    if not hhmm:
        return UNKNOWN
    hours, minutes = hhmm.split(":")
    return f"{int(hours)}{UNIT_SPACE}h{UNIT_SPACE}{minutes}"


def jour(day: date, *, weekday: bool = True, year: bool = False) -> str:
    """'mardi 14 juillet' ('1er' for the first of a month), with the year when asked."""
    number = "1er" if day.day == 1 else str(day.day)
    text = f"{number} {MONTHS[day.month - 1]}" + (f" {day.year}" if year else "")
    return f"{DAYS[day.weekday()]} {text}" if weekday else text


def nuit_nommee(day: date) -> str | None:
    """The name of a night that falls on a fixed holiday ('Fête nationale'), or None."""
    return NAMED_NIGHTS.get((day.month, day.day))


def circuits(count: int) -> str:
    """'1 circuit', '3 circuits'."""
    return f"{count}{UNIT_SPACE}circuit{'s' if count > 1 else ''}"
