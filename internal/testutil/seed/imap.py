import imaplib
import email
from email.header import decode_header

# Connect to the server
imap = imaplib.IMAP4_SSL('imap.example.com', 993)

# Authenticate
imap.login('username', 'password')

# Select a mailbox (in this case, the inbox)
status, messages = imap.select('INBOX')

# Get the number of messages
messages = int(messages[0])
print(f"Total messages in INBOX: {messages}")

# Fetch the latest message
status, msg_data = imap.fetch(str(messages), '(RFC822)')
raw_email = msg_data[0][1]

# Parse the raw email
email_message = email.message_from_bytes(raw_email)

# Decode the email subject
subject = decode_header(email_message["Subject"])[0][0]
if isinstance(subject, bytes):
    subject = subject.decode()

print(f"From: {email_message['From']}")
print(f"Subject: {subject}")
print(f"Date: {email_message['Date']}")

# Get email body
if email_message.is_multipart():
    for part in email_message.walk():
        content_type = part.get_content_type()
        if content_type == "text/plain":
            body = part.get_payload(decode=True).decode()
            print("Body:", body)
            break
else:
    body = email_message.get_payload(decode=True).decode()
    print("Body:", body)

# Close connection
imap.close()
imap.logout()
