"""The e-mail channel: mail in (LMTP/SMTP receiver, IMAP poller, import) through one
store-then-process path into ``intake.submit()``, and mail out."""
