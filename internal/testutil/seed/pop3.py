import poplib
from email import parser

# Connect to the server
pop_conn = poplib.POP3_SSL('pop.example.com', 995)

# Authenticate
pop_conn.user('username')
pop_conn.pass_('password')

# Get information about the mailbox
mailbox_stats = pop_conn.stat()
print(f"Messages in inbox: {mailbox_stats[0]}, Total size: {mailbox_stats[1]} bytes")

# Retrieve the latest message
message_num = mailbox_stats[0]
resp, lines, octets = pop_conn.retr(message_num)

# Convert the message from bytes to a string
message_content = b'\r\n'.join(lines).decode('utf-8')

# Parse the message
email_parser = parser.Parser()
email_message = email_parser.parsestr(message_content)

# Print message details
print(f"From: {email_message['From']}")
print(f"Subject: {email_message['Subject']}")
print(f"Date: {email_message['Date']}")

# Print the body if it's a simple message
if email_message.is_multipart():
    for part in email_message.walk():
        if part.get_content_type() == "text/plain":
            print("Body:", part.get_payload())
else:
    print("Body:", email_message.get_payload())

# Close connection
pop_conn.quit()
