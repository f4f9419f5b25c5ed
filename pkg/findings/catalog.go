package findings

// Entry describes one finding ID.
type Entry struct {
	ID          string
	Meaning     string // one line, for the README and --help
	Explanation string // why it matters
	Remedy      string // likely causes and what to do
}

// Catalog returns every finding ID smtpcap reports, with its meaning,
// explanation and remedy.
func Catalog() []Entry {
	return []Entry{
		{"connect-failed", "The client's SYN got no SYN-ACK (retried, then given up) or was refused with a RST.",
			"No TCP connection, so no SMTP: the sender will queue the mail and retry, and the user sees a delay or a timeout. Unanswered SYNs mean the packets are dropped (a firewall, a blackholed route, the server down); a RST means the host answers but nothing listens on the port (or a firewall rejects).",
			"Check that the server listens on the port (ss -ltn), the firewalls on the path (port 25 is often blocked outbound by ISPs and cloud providers), and the MX/A records the client used."},
		{"pix-masked-command", "A client command reached the server with its verb replaced by X's (XXXX), or a reply quotes one.",
			"A firewall's SMTP inspection (Cisco PIX/ASA \"fixup smtp\"/\"inspect esmtp\", mailguard) replaces commands it does not know with X's. The server sees garbage and rejects it; pipelined commands behind it go out of step.",
			"Disable SMTP/ESMTP inspection on the firewall (\"no fixup protocol smtp 25\" or \"no inspect esmtp\"), or allow the command. Compare captures on both sides of the firewall to confirm."},
		{"pix-masked-ehlo", "EHLO reply keywords replaced by X's (250-XXXXXXXA), or a banner of asterisks (220 ****2**0**).",
			"An SMTP-inspecting firewall hides extensions it does not support (CHUNKING, STARTTLS, PIPELINING…), so the client cannot use them; a starred banner is the PIX mailguard signature.",
			"Disable ESMTP inspection on the firewall, or make its policy allow the extensions the servers offer."},
		{"command-split-across-segments", "A command line was carried by more than one TCP segment.",
			"TCP may split a command anywhere and a correct server reassembles it, but SMTP-inspecting middleboxes often look at one segment at a time and mangle the part after the split (\"...>\\r\\nRC\" then \"XX TO:<\").",
			"Alone it is harmless. With a masked or rejected command or a synchronization error, a middlebox that inspects per segment is the likely cause: disable its SMTP inspection."},
		{"middlebox-ack", "ACKs or RSTs for one side's data carry a different IP TTL than that side's own packets.",
			"Packets from the same host normally arrive with one TTL. ACKs with another TTL were made by a device in the path (proxy, firewall, WAN optimiser, load balancer) that terminates or forges TCP: the sender believes data arrived that the real receiver may never see.",
			"Find the device at that hop distance (traceroute), and capture on its far side to see whether the data is forwarded."},
		{"retransmission-conflict", "A retransmitted segment carries different bytes than the first copy.",
			"A retransmission must repeat the same bytes. Different bytes mean something in the path rewrote the data (an inspecting firewall, a broken NAT/ALG, a faulty NIC), and the receiver may have taken either version.",
			"Capture on both sides of the suspect device; disable application-layer rewriting for SMTP."},
		{"pipelining-not-offered", "The client sent a command before the previous reply although PIPELINING was not offered.",
			"Without PIPELINING (RFC 2920) the client must wait for each reply. Servers that enforce synchronization (Exim's smtp_enforce_sync, Postfix's reject_unauth_pipelining) reject such clients; the usual sign of spamware, or of a client misreading the EHLO reply.",
			"Fix the client to wait for replies, or offer PIPELINING; check whether a middlebox hid the PIPELINING keyword (see pix-masked-ehlo)."},
		{"pipelining-bad-sequence", "A command that must end a pipelined group (EHLO, DATA, BDAT LAST, STARTTLS, QUIT, AUTH…) was followed by more commands before its reply.",
			"RFC 2920 requires the client to wait after these commands, because their reply changes what may come next (e.g. message content after DATA's 354).",
			"Fix the client's pipelining; servers may reject the extra commands or take message content as commands."},
		{"sync-error-reply", "The server answered with a synchronization / improper pipelining error.",
			"The server saw input before it had replied (or a command it could not place) and rejected it. It usually follows masked or split commands, or pipelining without PIPELINING.",
			"Look at the commands just before it for masking, splitting or early pipelining."},
		{"unanswered-command", "A command never got a reply before the connection ended.",
			"The server did not answer: it stalled, the reply was lost, or the connection broke.",
			"Check the server's logs at that time and the stall findings on the same stream."},
		{"reply-without-command", "The server sent a reply no command was waiting for.",
			"An unsolicited reply (other than 421) means the two sides are out of step: a command was lost or masked in the path, or a reply was duplicated.",
			"Compare what the client sent with what the server received (capture on both sides)."},
		{"malformed-command", "A command with bad syntax, e.g. MAIL FROM: SIZE=12345 with no path, or a line over 512 octets.",
			"Strict servers reject malformed commands; lenient ones guess, and different guesses between a filter and a server cause trouble.",
			"Fix the sending software; the exact problem is in the summary."},
		{"malformed-reply", "A server reply that is not <3 digits><SP or -><text><CRLF>.",
			"Clients may fail to parse such a reply and drop the connection or misread the outcome.",
			"Fix the server (or the middlebox that rewrites its replies)."},
		{"command-rejected", "A command or a message was rejected with a 5xx reply (info).",
			"A permanent failure: the sender must not retry it unchanged.",
			"Read the reply text; it names the policy that rejected it."},
		{"data-terminator-not-at-line-start", "The message does not end in CRLF before the dot (e.g. %%EOF\\n.\\r\\n), so a strict server never sees <CRLF>.<CRLF>.",
			"RFC 5321 ends DATA only at <CRLF>.<CRLF>. A body whose last line ends in a bare LF puts the dot after <LF>: a strict server (Exim, Postfix since the SMTP-smuggling fixes) takes it as content and keeps waiting; the client waits for the reply; the transaction times out.",
			"Fix the sending software to convert the message to CRLF line endings (canonicalise bare LF) before sending; typical with PDF or script-generated attachments."},
		{"bare-lf-in-data", "The message holds LF line endings without CR.",
			"RFC 5321 requires CRLF. Servers may reject it (Exim, Postfix with smtpd_forbid_bare_newline) or handle it differently from filters in front of them.",
			"Convert the message to CRLF before sending."},
		{"bare-cr-in-data", "The message holds CR characters not followed by LF.",
			"Bare CRs are not allowed in SMTP text and are handled inconsistently; they are also used for smuggling.",
			"Fix the sending software; encode binary content."},
		{"smuggling-end-of-data", "A non-standard end-of-data sequence (\\n.\\n, \\n.\\r\\n, \\r.\\r\\n…) inside the message.",
			"A lenient receiver would end the message at this point and run what follows as new SMTP commands (SMTP smuggling, CVE-2023-51764/51765/51766): messages can be injected past the sender's checks.",
			"Make receiving servers accept only <CRLF>.<CRLF> and reject bare LF/CR; if commands follow the sequence, treat the sender as hostile."},
		{"binary-via-data", "Content-Transfer-Encoding: binary or BODY=BINARYMIME sent with DATA.",
			"Binary MIME (RFC 3030) may only be sent with BDAT: DATA cannot carry arbitrary bytes (a line \".\" ends it, NULs and long lines break it).",
			"Send binary content with BDAT to servers that offer BINARYMIME, or encode it (base64) otherwise."},
		{"binarymime-not-offered", "BODY=BINARYMIME used but the server did not offer BINARYMIME.",
			"The server does not accept binary content; it may reject the transaction or damage the message.",
			"Encode the content (base64/quoted-printable) or use a server that offers BINARYMIME."},
		{"bdat-not-offered", "BDAT used but the server did not offer CHUNKING.",
			"The server does not know BDAT; the chunk bytes will be read as commands.",
			"Use DATA with such servers; check whether a middlebox hid CHUNKING (pix-masked-ehlo)."},
		{"eightbit-not-offered", "8-bit bytes sent without BODY=8BITMIME, or to a server that does not offer 8BITMIME.",
			"Without 8BITMIME, SMTP is 7-bit; 8-bit bytes may be stripped or the message rejected.",
			"Declare BODY=8BITMIME where offered, or encode the content."},
		{"nul-in-data", "NUL bytes in the message.",
			"NUL is not allowed in SMTP text; many servers truncate or reject the message.",
			"Encode binary content."},
		{"line-too-long", "A message line longer than 998 octets.",
			"RFC 5321 limits text lines to 998 octets plus CRLF; servers may reject, wrap or truncate.",
			"Encode the content (quoted-printable/base64) so lines stay short."},
		{"bdat-size-mismatch", "A BDAT chunk whose declared size differs from the bytes sent before the next command.",
			"The server reads exactly the declared number of bytes: too few and it waits (or eats the next command), too many and message bytes are read as commands. Security appliances that rewrite BDAT chunks cause this.",
			"Check the client's chunking, and any appliance that inspects or rewrites the message."},
		{"size-mismatch", "The declared SIZE= is well below the bytes sent.",
			"SIZE is an estimate, but a large shortfall may make a server with a limit accept, then reject, the message.",
			"Fix the client's size computation."},
		{"size-exceeds-limit", "The declared SIZE= is above the server's advertised limit.",
			"The server will reject the message (552).",
			"Send smaller messages, or raise the server's message size limit."},
		{"stall", "One side waited longer than the stall threshold (default 10 s) for the other.",
			"A long silence in SMTP means one side is waiting for something the other will not send: a reply to a terminator it never saw, data held by a middlebox, or a slow server check (DNS, content scan).",
			"The summary says who waited for what since which frame and how it ended; look at the findings just before it."},
		{"lost-mid-transaction", "The connection ended (FIN, RST or capture end) before the transaction's final reply.",
			"The message was not delivered by this connection; the client will retry it, possibly creating duplicates if the server had in fact accepted it.",
			"Look at the stall and middlebox findings on the same stream for the cause."},
		{"retry-loop", "The same envelope was attempted in several connections without a 2xx final reply.",
			"The sender retries a message that keeps failing the same way; each retry costs a connection and may duplicate the message.",
			"Fix the cause found in the first attempt's stream; it is the same in all of them."},
		{"capture-gap", "Bytes of a stream are missing from the capture (acknowledged by the peer, never seen).",
			"The capture dropped packets (tcpdump buffer, span port, offload). Findings whose evidence touches the gap say so: do not blame the servers for the capture's loss.",
			"Capture closer to the host, with a larger buffer (-B), and check tcpdump's 'dropped by kernel' count."},
		{"snaplen-truncated", "Packets were cut by the capture's snaplen, so payload bytes are missing.",
			"The capture holds only the first bytes of each packet; SMTP content analysis is incomplete.",
			"Capture with -s 0 (the whole packet)."},
		{"one-sided-capture", "Only the client's packets are in the capture.",
			"Without the server's packets, replies and acknowledgements are unknown: nothing can be said about whether the server answered (asymmetric routing, or a capture filter on one direction).",
			"Capture where both directions pass (on the host itself, or both legs of the route)."},
		{"tls-started", "STARTTLS succeeded; the rest of the connection is encrypted (info).",
			"smtpcap cannot analyse encrypted SMTP.",
			"To analyse it, capture on a host that can log TLS keys, or test with TLS disabled."},
	}
}

// lookup returns the catalog entry of an ID.
func lookup(id string) Entry {
	for _, e := range Catalog() {
		if e.ID == id {
			return e
		}
	}
	return Entry{ID: id}
}
