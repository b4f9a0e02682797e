"""Messages and form fields built in Python give exactly the markup of the templates
they replace (kept here as the reference), with everything a person typed escaped."""

from __future__ import annotations

import pytest
from django import forms
from django.template import Context, Template

from devdesk.tickets.access import visible_messages
from devdesk.tickets.attachments import check_uploads
from devdesk.tickets.conversation import field_html, history_html, message_html
from devdesk.tickets.history import ticket_history
from devdesk.tickets.merging import merge_tickets
from devdesk.tickets.models import Message, Ticket
from devdesk.tickets.services import add_message
from devdesk.tickets.tests.factories import make_ticket

pytestmark = pytest.mark.django_db

HOSTILE = '<img src=x onerror="alert(1)">&'

MESSAGE_TEMPLATE = Template(
    """{% load desk %}<article class="message{% if message.is_internal %} is-internal{% endif %}{% if message.author.is_customer %} from-customer{% endif %}" id="message-{{ message.pk }}" data-message="{{ message.pk }}">
  <header class="message-header">
    {% if selectable %}<input type="checkbox" name="message_ids" value="{{ message.pk }}" form="split-form" aria-label="Select message for split">{% endif %}
    <span class="message-author">{{ message.author.display_name|default:"devdesk" }}</span>
    {% if message.author and not message.author.is_customer %}<span class="badge badge-role">{% if is_desk_user %}{{ message.author.get_role_display }}{% else %}Support team{% endif %}</span>{% endif %}
    {% if message.is_internal %}<span class="badge badge-note">Internal note</span>{% endif %}
    {% if message.origin_ticket_id and message.origin_ticket_id != message.ticket_id %}<span class="badge badge-origin" title="Moved here by a merge or split">from #{{ message.origin_ticket.number }}</span>{% endif %}
    <span class="muted small message-meta">{% if message.author.is_customer or message.channel == "email" or message.channel == "api" %}{{ message.get_channel_display }} · {% endif %}<time datetime="{{ message.created_at|date:'c' }}" title="{{ message.created_at|date:'Y-m-d H:i e' }}">{{ message.created_at|ago }}</time>{% if is_desk_user and message.channel == "email" and message.author.is_customer %} · <a href="{% url 'mail:for-message' message.pk %}">original e-mail</a>{% endif %}</span>
  </header>
  <div class="message-body">{{ message.body|markdown }}</div>
  {% if message.attachments.all %}
  <div class="attachments">
    {% for file in message.attachments.all %}<a class="attachment" href="{% url 'attachment-download' file.pk file.filename %}">📎 {{ file.filename }} <span class="muted">{{ file.size_bytes|filesize }}</span></a>{% endfor %}
  </div>
  {% endif %}
</article>
"""  # the template as it was
)

FIELD_TEMPLATE = Template(
    """{% if field.is_hidden %}{{ field }}{% else %}<div class="field{% if field.errors %} has-error{% endif %}">
  <label for="{{ field.id_for_label }}">{{ field.label }}</label>
  {{ field }}
  {% if field.help_text %}<div class="help">{{ field.help_text }}</div>{% endif %}
  {{ field.errors }}
</div>{% endif %}"""  # the template as it was
)


@pytest.fixture
def conversation(agent, acme_customer) -> list[Message]:
    """A customer e-mail with hostile text, a reply with an attachment, an
    internal note, and a message moved here by a merge."""
    acme_customer.name = HOSTILE
    acme_customer.save()
    ticket = make_ticket(acme_customer, body=f"# Title\n\n{HOSTILE} `code`")
    Message.objects.filter(ticket=ticket).update(channel=Ticket.Channel.EMAIL)
    add_message(
        ticket,
        author=agent,
        body="Here is the log.",
        uploads=check_uploads([(f"{HOSTILE}.log", b"line\n" * 300)]),
    )
    add_message(ticket, author=agent, body="Seen before.", kind=Message.Kind.INTERNAL)
    other = make_ticket(acme_customer, subject="Same problem", body="Me too")
    merge_tickets(other, ticket, acting_user=agent)
    return list(visible_messages(agent, ticket).select_related("origin_ticket"))


@pytest.mark.parametrize("is_desk_user", [True, False])
@pytest.mark.parametrize("selectable", [True, False])
def test_messages_match_the_template(conversation, is_desk_user, selectable):
    assert len(conversation) == 5  # the merge adds a notice
    for message in conversation:
        context = {
            "message": message,
            "selectable": selectable,
            "is_desk_user": is_desk_user,
        }
        expected = MESSAGE_TEMPLATE.render(Context(context))
        built = message_html(message, selectable=selectable, is_desk_user=is_desk_user)
        assert built == expected


def test_a_message_escapes_what_people_typed(conversation):
    html = "".join(
        message_html(m, selectable=False, is_desk_user=True) for m in conversation
    )
    assert "<img" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;" in html
    assert "Internal note" in html
    assert "from #" in html  # the merged message names its first ticket
    assert 'class="attachment"' in html


class Example(forms.Form):
    subject = forms.CharField(label="Subject <b>", help_text="Say <i>what</i> & why")
    count = forms.IntegerField(required=False)
    back = forms.CharField(required=False, widget=forms.HiddenInput)


@pytest.mark.parametrize(
    "data", [None, {"subject": "", "count": "many", "back": "x"}], ids=["new", "bad"]
)
def test_fields_match_the_template(data):
    form = Example(data)
    if data:
        assert not form.is_valid()
    for field in form:
        expected = FIELD_TEMPLATE.render(Context({"field": field}))
        assert field_html(field) == expected


HISTORY_TEMPLATE = Template(
    """{% load desk %}{% for line in history %}
      <li>{% if line.elsewhere %}<a href="{% url 'desk:ticket-detail' line.elsewhere.number %}" class="muted">{{ line.elsewhere.reference }}</a>: {% endif %}{{ line.text }}
        {% time_ago line.event.created_at "muted" %}</li>
      {% endfor %}"""  # the template as it was
)


def test_history_matches_the_template(conversation):
    ticket = conversation[0].ticket
    ticket.subject = HOSTILE
    lines = ticket_history(ticket)
    assert any(line["elsewhere"] for line in lines)  # the merged ticket's events
    expected = HISTORY_TEMPLATE.render(Context({"history": lines}))
    assert history_html(lines) == expected
