# Seed exercise 3: the seed's IMAP example extended to search for emails
# containing a keyword in the subject line. Connection and login are the
# seed's own lines; KEYWORD comes from the first argument.
import sys
import imaplib
import email
from email.header import decode_header

keyword = sys.argv[1]

# Connect to the server
imap = imaplib.IMAP4_SSL('imap.example.com', 993)

# Authenticate
imap.login('username', 'password')

# Select a mailbox (in this case, the inbox)
status, messages = imap.select('INBOX')

# Search for messages whose subject contains the keyword
status, data = imap.search(None, 'SUBJECT', '"%s"' % keyword)
numbers = data[0].split()
print(f"Matches: {len(numbers)}")

for num in numbers:
    status, msg_data = imap.fetch(num, '(RFC822)')
    email_message = email.message_from_bytes(msg_data[0][1])
    subject = decode_header(email_message["Subject"])[0][0]
    if isinstance(subject, bytes):
        subject = subject.decode()
    print(f"Subject: {subject}")

# Close connection
imap.close()
imap.logout()
