"""The rules engine: when <trigger>, if <conditions>, do <actions>.

- :mod:`.registry`: the condition and action types, and how to register more;
- :mod:`.conditions`, :mod:`.actions`: the built-in ones, :mod:`.parts` those of
  triage's other parts (sentiment, business hours, SLA policy, cool-down), all
  registered on import;
- :mod:`.spec`: checking a rule before it is saved (clear 4xx messages);
- :mod:`.engine`: compiled rules, evaluation on events, the periodic pass, preview;
- :mod:`.services`: changing the rule set; :mod:`.access`: who may.
"""

from devdesk.triage.rules import actions, conditions, parts  # noqa: F401 - they register
