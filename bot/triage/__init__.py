"""Safety triage, before anything is retrieved: which messages need crisis contacts first
(and which kind), which are for the patient's own doctor, which need a warm word.

- rules.py      rules as data (bot/data/rules/triage.yaml; triage_languages.yaml for the
                other languages), urgent / declined / support / mention, with the kind
                of crisis
- contacts.py   the contacts of each locale and kind, in each language
- language.py   which language a message is in (replies in Spanish where we can)
- semantic.py   the message and each sentence judged with the loaded MiniLM model:
                nearest labelled exemplars and the classifier; frames it does not alarm in
- classifier.py the classifier: trained on the team's corpus (bot/data/triage_train/),
                thresholds on its dev split, weights read at run time
- own_care.py   a head apart for questions for one's own doctor (declined)
- network.py    the small networks both read with: features, weights, fitting
"""

from bot.triage.contacts import Contact, ContactBook, crisis_contacts, load_contacts
from bot.triage.rules import Triage, plain, triage

__all__ = [
    "Contact",
    "ContactBook",
    "Triage",
    "crisis_contacts",
    "load_contacts",
    "plain",
    "triage",
]
