package smtpparse

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestCleanSessionDeliversOneMessage(t *testing.T) {
	body := "Message-ID: <1@example.com>\r\nContent-Transfer-Encoding: 7BIT\r\nSubject: hi\r\n\r\nHello Bob.\r\n"
	events := []event{
		srv("220 mx.example.org ESMTP\r\n"),
		cli("EHLO client.example.com\r\n"),
		srv("250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 10485760\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"),
		cli("MAIL FROM:<alice@example.com> SIZE=123 BODY=8BITMIME\r\n"),
		srv("250 2.1.0 Ok\r\n"),
		cli("RCPT TO:<bob@example.org>\r\n"),
		srv("250 2.1.5 Ok\r\n"),
		cli("DATA\r\n"),
		srv("354 End data with <CR><LF>.<CR><LF>\r\n"),
		cli(body + ".\r\n"),
		srv("250 2.0.0 Ok: queued as 12345\r\n"),
		cli("QUIT\r\n"),
		srv("221 2.0.0 Bye\r\n"),
	}
	d := run(t, Options{}, events...)
	golden(t, "clean_session", d)
	cs := stream(events, ClientToServer)

	if d.Greeting == nil || d.Greeting.Code != 220 || d.Greeting.Span != span(ServerToClient, 0, 26) {
		t.Fatalf("greeting = %+v", d.Greeting)
	}
	if got := verbs(d); !slices.Equal(got, []string{"EHLO", "MAIL", "RCPT", "DATA", "QUIT"}) {
		t.Fatalf("verbs = %q", got)
	}
	for _, c := range d.Commands {
		if c.Reply == nil || c.Pipelined || len(c.Problems) != 0 {
			t.Errorf("%s: reply %v pipelined %v problems %q", c.Verb, c.Reply, c.Pipelined, c.Problems)
		}
	}
	if !d.Extensions.Offered || d.Extensions.Size != 10485760 || !d.Extensions.Has("pipelining") || d.Extensions.Has("CHUNKING") {
		t.Errorf("extensions = %+v", d.Extensions)
	}
	if len(d.Transactions) != 1 {
		t.Fatalf("%d transactions", len(d.Transactions))
	}
	tx := d.Transactions[0]
	if tx.Mail.Path != "alice@example.com" || tx.Mail.Params["SIZE"] != "123" || tx.Mail.Params["BODY"] != "8BITMIME" {
		t.Errorf("mail = %+v", tx.Mail)
	}
	if len(tx.Rcpts) != 1 || tx.Rcpts[0].Path != "bob@example.org" || tx.Data != d.Commands[3] {
		t.Errorf("rcpts %v data %v", tx.Rcpts, tx.Data)
	}
	b := tx.Body
	start := at(t, cs, "Message-ID", 0)
	term := at(t, cs, ".\r\nQUIT", 0)
	if b.Span != span(ClientToServer, start, term) || *b.Terminator != span(ClientToServer, term, term+3) {
		t.Errorf("body span %v terminator %v, want [%d,%d) and [%d,%d)", b.Span, b.Terminator, start, term, term, term+3)
	}
	if !b.Complete || b.Size != int64(len(body)) || string(b.Kept) != body {
		t.Errorf("complete %v size %d kept %q", b.Complete, b.Size, b.Kept)
	}
	if want := body[max(0, len(body)-64):]; string(b.Tail) != want {
		t.Errorf("tail %q, want %q", b.Tail, want)
	}
	if b.TransferEncoding != "7bit" || b.MessageID != "<1@example.com>" {
		t.Errorf("cte %q message-id %q", b.TransferEncoding, b.MessageID)
	}
	if b.BareLF.N != 0 || b.BareLF.First != -1 || b.EightBit.N != 0 || len(b.Lenient) != 0 {
		t.Errorf("stats %+v", b)
	}
	if f := tx.FinalReply; f == nil || !f.Final || f.Code != 250 || f.Enhanced != "2.0.0" || f.Command != tx.Data {
		t.Errorf("final reply = %+v", f)
	}
	if d.Commands[3].Reply.Code != 354 || d.Commands[4].Reply.Code != 221 {
		t.Errorf("DATA reply %d, QUIT reply %d", d.Commands[3].Reply.Code, d.Commands[4].Reply.Code)
	}
}

// RFC 2920 section 3.2: MAIL, RCPTs and DATA in one group; the message
// content and QUIT in the next.
func TestRFC2920PipelinedExampleMatchesRepliesInOrder(t *testing.T) {
	events := []event{
		srv("220 innosoft.com SMTP service ready\r\n"),
		cli("EHLO dbc.mtview.ca.us\r\n"),
		srv("250-innosoft.com\r\n250 PIPELINING\r\n"),
		cli("MAIL FROM:<mrose@dbc.mtview.ca.us>\r\nRCPT TO:<ned@innosoft.com>\r\nRCPT TO:<dan@innosoft.com>\r\nRCPT TO:<kvc@innosoft.com>\r\nDATA\r\n"),
		srv("250 sender <mrose@dbc.mtview.ca.us> OK\r\n250 recipient <ned@innosoft.com> OK\r\n250 recipient <dan@innosoft.com> OK\r\n250 recipient <kvc@innosoft.com> OK\r\n354 enter mail, end with line containing only \".\"\r\n"),
		cli("Subject: pipelining\r\n\r\nhello\r\n.\r\nQUIT\r\n"),
		srv("250 message sent\r\n221 goodbye\r\n"),
	}
	d := run(t, Options{}, events...)
	golden(t, "rfc2920_pipelined", d)

	want := []struct {
		verb      string
		pipelined bool
		reply     string
		endsGroup bool
	}{
		{"EHLO", false, "innosoft.com", true},
		{"MAIL", false, "sender <mrose@dbc.mtview.ca.us> OK", false},
		{"RCPT", true, "recipient <ned@innosoft.com> OK", false},
		{"RCPT", true, "recipient <dan@innosoft.com> OK", false},
		{"RCPT", true, "recipient <kvc@innosoft.com> OK", false},
		{"DATA", true, "enter mail, end with line containing only \".\"", true},
		{"QUIT", true, "goodbye", true},
	}
	if len(d.Commands) != len(want) {
		t.Fatalf("verbs = %q", verbs(d))
	}
	for i, w := range want {
		c := d.Commands[i]
		if c.Verb != w.verb || c.Pipelined != w.pipelined || c.Reply == nil || c.Reply.Lines[0] != w.reply || c.EndsGroup() != w.endsGroup {
			t.Errorf("command %d: %s pipelined=%v endsGroup=%v reply=%v; want %+v", i, c.Verb, c.Pipelined, c.EndsGroup(), c.Reply, w)
		}
	}
	tx := d.Transactions[0]
	if len(tx.Rcpts) != 3 || tx.FinalReply == nil || tx.FinalReply.Lines[0] != "message sent" || !tx.FinalReply.Final {
		t.Fatalf("transaction = %+v", tx)
	}
	if !d.Extensions.Has("PIPELINING") || d.Extensions.Lines[0] != "innosoft.com" {
		t.Errorf("extensions = %+v", d.Extensions)
	}
}

// RFC 3030 section 4.1.
func TestRFC3030SimpleChunkingDeliversDeclaredBytes(t *testing.T) {
	msg := "To: Susan@random.com\r\nFrom: Sam@random.com\r\nSubject: This is a bodyless test message\r\n"
	if len(msg) != 86 {
		t.Fatalf("message is %d octets, the RFC says 86", len(msg))
	}
	events := []event{
		srv("220 cnri.reston.va.us SMTP service ready\r\n"),
		cli("EHLO ymir.claremont.edu\r\n"),
		srv("250-cnri.reston.va.us says hello\r\n250 CHUNKING\r\n"),
		cli("MAIL FROM:<Sam@Random.com>\r\n"),
		srv("250 <Sam@Random.com> Sender ok\r\n"),
		cli("RCPT TO:<Susan@Random.com>\r\n"),
		srv("250 <Susan@random.com> Recipient ok\r\n"),
		cli("BDAT 86 LAST\r\n" + msg),
		srv("250 Message OK, 86 octets received\r\n"),
		cli("QUIT\r\n"),
		srv("221 Goodbye\r\n"),
	}
	d := run(t, Options{}, events...)
	golden(t, "rfc3030_simple_chunking", d)
	cs := stream(events, ClientToServer)

	tx := d.Transactions[0]
	if len(tx.Chunks) != 1 || tx.Data != nil {
		t.Fatalf("transaction = %+v", tx)
	}
	ch := tx.Chunks[0]
	start := at(t, cs, "To: Susan", 0)
	if ch.Declared != 86 || !ch.Last || ch.Data != span(ClientToServer, start, start+86) {
		t.Errorf("chunk = %+v", ch)
	}
	b := tx.Body
	if !b.Complete || b.Size != 86 || string(b.Kept) != msg || b.Terminator != nil || b.Span != ch.Data {
		t.Errorf("body = %+v", b)
	}
	if f := tx.FinalReply; f == nil || !f.Final || f.Command != ch.Command || f.Lines[0] != "Message OK, 86 octets received" {
		t.Errorf("final = %+v", f)
	}
	if got := verbs(d); !slices.Equal(got, []string{"EHLO", "MAIL", "RCPT", "BDAT", "QUIT"}) {
		t.Errorf("verbs = %q", got)
	}
	if last, ok := ch.Command.Params["LAST"]; ch.Command.EndsGroup() || !ok || last != "" {
		t.Errorf("BDAT LAST: endsGroup %v (want false: a new MAIL or QUIT may follow it) params %v", ch.Command.EndsGroup(), ch.Command.Params)
	}
}

// RFC 3030 section 4.2: pipelined BDAT chunks of binary MIME, ended by
// BDAT 0 LAST.
func TestRFC3030PipelinedBinaryMIMEChunks(t *testing.T) {
	first := binaryChunk(100000, 1)
	second := binaryChunk(324, 2)
	events := []event{
		srv("220 cnri.reston.va.us SMTP service ready\r\n"),
		cli("EHLO ymir.claremont.edu\r\n"),
		srv("250-cnri.reston.va.us says hello\r\n250-PIPELINING\r\n250-BINARYMIME\r\n250 CHUNKING\r\n"),
		cli("MAIL FROM:<ned@ymir.claremont.edu> BODY=BINARYMIME\r\nRCPT TO:<gvaudre@cnri.reston.va.us>\r\nRCPT TO:<jstewart@cnri.reston.va.us>\r\n"),
		srv("250 <ned@ymir.claremont.edu>... Sender and BINARYMIME ok\r\n250 <gvaudre@cnri.reston.va.us>... Recipient ok\r\n250 <jstewart@cnri.reston.va.us>... Recipient ok\r\n"),
		cli("BDAT 100000\r\n" + first + "BDAT 324\r\n" + second + "BDAT 0 LAST\r\n"),
		srv("250 100000 bytes received\r\n250 324 bytes received\r\n250 Message OK, 100324 octets received\r\n"),
		cli("QUIT\r\n"),
		srv("221 Goodbye\r\n"),
	}
	d := run(t, Options{}, events...)
	cs := stream(events, ClientToServer)

	if got := verbs(d); !slices.Equal(got, []string{"EHLO", "MAIL", "RCPT", "RCPT", "BDAT", "BDAT", "BDAT", "QUIT"}) {
		t.Fatalf("verbs = %q", got)
	}
	tx := d.Transactions[0]
	if tx.Mail.Params["BODY"] != "BINARYMIME" || len(tx.Rcpts) != 2 || len(tx.Chunks) != 3 {
		t.Fatalf("transaction = %+v", tx)
	}
	s1 := at(t, cs, "BDAT 100000\r\n", 0) + 13
	s2 := at(t, cs, "BDAT 324\r\n", 0) + 10
	s3 := at(t, cs, "BDAT 0 LAST\r\n", 0) + 13
	wantChunks := []Chunk{
		{Declared: 100000, Data: span(ClientToServer, s1, s1+100000)},
		{Declared: 324, Data: span(ClientToServer, s2, s2+324)},
		{Declared: 0, Last: true, Data: span(ClientToServer, s3, s3)},
	}
	for i, w := range wantChunks {
		ch := tx.Chunks[i]
		if ch.Declared != w.Declared || ch.Last != w.Last || ch.Data != w.Data {
			t.Errorf("chunk %d = %+v, want %+v", i, ch, w)
		}
		wantFinal := i == 2
		if r := ch.Command.Reply; r == nil || r.Final != wantFinal || r.Code != 250 {
			t.Errorf("chunk %d reply = %+v", i, r)
		}
		if !ch.Command.Pipelined && i > 0 {
			t.Errorf("chunk %d not pipelined", i)
		}
	}
	b := tx.Body
	if !b.Complete || b.Size != 100324 || b.Span != span(ClientToServer, s1, s2+324) {
		t.Errorf("body span %v size %d complete %v", b.Span, b.Size, b.Complete)
	}
	if len(b.Kept) != 64<<10 || !bytes.Equal(b.Kept, []byte(first[:64<<10])) {
		t.Errorf("kept %d bytes", len(b.Kept))
	}
	// The tail spans both chunks: 324 bytes of the second are more than 64.
	if whole := first + second; string(b.Tail) != whole[len(whole)-64:] {
		t.Errorf("tail %q", b.Tail)
	}
	if b.NUL.N == 0 || b.NUL.First != s1+countUntil(first, 0) || b.EightBit.First != s1+countUntil(first, 0x80) {
		t.Errorf("NUL %+v 8bit %+v", b.NUL, b.EightBit)
	}
	if len(b.Lenient) != 0 {
		t.Errorf("BDAT content has no end of data, got %d lenient", len(b.Lenient))
	}
	if tx.FinalReply != tx.Chunks[2].Command.Reply || tx.FinalReply.Lines[0] != "Message OK, 100324 octets received" {
		t.Errorf("final = %+v", tx.FinalReply)
	}
}

// binaryChunk makes deterministic binary content with NULs, 8-bit bytes,
// bare CRs and LFs and dots at line starts.
func binaryChunk(n int, seed uint32) string {
	b := make([]byte, n)
	x := seed*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return string(b)
}

func countUntil(s string, c byte) int64 {
	for i := 0; i < len(s); i++ {
		if c == 0 && s[i] == 0 || c != 0 && s[i] >= c {
			return int64(i)
		}
	}
	return -1
}

// Four MiB PDFs end in "%%EOF\n"; a client that then writes ".\r\n" has
// not ended the message, and a strict server waits forever.
func TestBareLFBeforeDotStallsTransaction(t *testing.T) {
	body := "Content-Type: application/pdf\r\n\r\n%PDF-1.4\r\nstream\r\n%%EOF\n.\r\n"
	events := []event{
		srv("220 mx ESMTP\r\n"),
		cli("HELO c\r\n"),
		srv("250 mx\r\n"),
		cli("MAIL FROM:<a@b>\r\n"),
		srv("250 ok\r\n"),
		cli("RCPT TO:<c@d>\r\n"),
		srv("250 ok\r\n"),
		cli("DATA\r\n"),
		srv("354 go ahead\r\n"),
		cli(body),
		srv("421 4.4.2 mx Error: timeout exceeded\r\n"),
	}
	d := run(t, Options{}, events...)
	golden(t, "bare_lf_before_dot", d)
	cs := stream(events, ClientToServer)

	b := d.Transactions[0].Body
	if b.Complete || b.Terminator != nil {
		t.Fatalf("complete %v terminator %v", b.Complete, b.Terminator)
	}
	lf := at(t, cs, "\n.\r\n", 0)
	if len(b.Lenient) != 1 || b.Lenient[0].Seq != "\n.\r\n" || b.Lenient[0].At != span(ClientToServer, lf, lf+4) {
		t.Fatalf("lenient = %+v, want \\n.\\r\\n at %d", b.Lenient, lf)
	}
	if b.Lenient[0].CommandsAfter || len(b.Lenient[0].After) != 0 {
		t.Errorf("after = %q", b.Lenient[0].After)
	}
	if b.BareLF.N != 1 || b.BareLF.First != lf {
		t.Errorf("bare LF = %+v", b.BareLF)
	}
	// The dot after a bare LF is not a line start to a strict receiver:
	// it stays in the content.
	if string(b.Kept) != body || b.Size != int64(len(body)) {
		t.Errorf("kept %q", b.Kept)
	}
	if want := body[max(0, len(body)-64):]; string(b.Tail) != want {
		t.Errorf("tail %q, want %q", b.Tail, want)
	}
	timeout := d.Replies[len(d.Replies)-1]
	if timeout.Code != 421 || timeout.Command != nil || d.Transactions[0].FinalReply != nil {
		t.Errorf("timeout reply %+v", timeout)
	}
	// The server gave up waiting for the end of data: the timeout
	// interrupted the message.
	if d.Transactions[0].Interrupt != timeout {
		t.Errorf("interrupt = %+v, want the 421", d.Transactions[0].Interrupt)
	}
}

// Sendmail 8.17 (Debian's, with the SMTP smuggling fix) stops reading a
// message at its first bare LF: it answers "421 4.5.0 Bare linefeed (LF)
// not allowed" in the middle of the content and closes. The client does not
// read replies during content and goes on to its end of data.
func TestReplyDuringContentInterruptsTheMessage(t *testing.T) {
	events := []event{
		srv("220 mx ESMTP Sendmail\r\n"),
		cli("EHLO c\r\n"),
		srv("250-mx\r\n250 PIPELINING\r\n"),
		cli("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"),
		srv("250 ok\r\n250 ok\r\n354 go ahead\r\n"),
		cli("Subject: x\r\n\r\nfirst\nsecond\r\n"),
		srv("421 4.5.0 Bare linefeed (LF) not allowed\r\n"),
		cli("third line\r\n.\r\n"),
	}
	d := run(t, Options{}, events...)
	tx := d.Transactions[0]
	r := d.Replies[len(d.Replies)-1]
	if r.Code != 421 || tx.Interrupt != r || r.Command != nil || r.Final {
		t.Fatalf("reply %+v, interrupt %+v", r, tx.Interrupt)
	}
	// What the client sent after the reply is still the message.
	b := tx.Body
	if !b.Complete || b.Size != int64(len("Subject: x\r\n\r\nfirst\nsecond\r\nthird line\r\n")) || b.BareLF.N != 1 {
		t.Errorf("body complete=%v size=%d bareLF=%+v", b.Complete, b.Size, b.BareLF)
	}
	if tx.FinalReply != nil || len(d.Commands) != 4 {
		t.Errorf("final %+v, %d commands", tx.FinalReply, len(d.Commands))
	}
}

// A reply during content that accepts nothing is only an interruption when
// it refuses: a 250 there answers no command.
func TestOnlyRefusalsInterruptContent(t *testing.T) {
	events := []event{
		srv("220 mx\r\n"),
		cli("HELO c\r\nMAIL FROM:<a@b>\r\n"),
		srv("250 mx\r\n250 ok\r\n"),
		cli("RCPT TO:<c@d>\r\n"),
		srv("250 ok\r\n"),
		cli("DATA\r\n"),
		srv("354 go\r\n"),
		cli("line\r\n"),
		srv("250 early\r\n"),
		cli(".\r\n"),
	}
	d := run(t, Options{}, events...)
	if tx := d.Transactions[0]; tx.Interrupt != nil {
		t.Errorf("interrupt = %+v", tx.Interrupt)
	}
}

func TestSmugglingBareLFDotFollowedByCommands(t *testing.T) {
	smuggled := "MAIL FROM:<admin@victim.example>\r\nRCPT TO:<ceo@victim.example>\r\nDATA\r\n\r\nwire the money\r\n"
	events := []event{
		srv("220 mx ESMTP\r\n"),
		cli("EHLO evil\r\n"),
		srv("250 mx\r\n"),
		cli("MAIL FROM:<x@evil.example>\r\n"),
		srv("250 ok\r\n"),
		cli("RCPT TO:<y@victim.example>\r\n"),
		srv("250 ok\r\n"),
		cli("DATA\r\n"),
		srv("354 go\r\n"),
		cli("Subject: hi\r\n\r\nhello\n.\n"+smuggled+".\r\n", 20, 22),
		srv("250 queued\r\n"),
	}
	d := run(t, Options{}, events...)
	cs := stream(events, ClientToServer)

	if len(d.Transactions) != 1 {
		t.Fatalf("%d transactions: the smuggled MAIL must stay content", len(d.Transactions))
	}
	b := d.Transactions[0].Body
	if !b.Complete || len(b.Lenient) != 1 {
		t.Fatalf("body = %+v", b)
	}
	e := b.Lenient[0]
	start := at(t, cs, "\n.\n", 0)
	if e.Seq != "\n.\n" || e.At != span(ClientToServer, start, start+3) || !e.CommandsAfter || string(e.After) != smuggled[:64] {
		t.Errorf("lenient = %+v", e)
	}
	if f := d.Transactions[0].FinalReply; f == nil || f.Lines[0] != "queued" {
		t.Errorf("final = %+v", f)
	}
}

func TestLenientEndOfDataSequencesAreReported(t *testing.T) {
	cases := []struct {
		name    string
		content string // between "x" and the strict terminator
		seq     string
		at      int // offset of seq in content
		bareLF  int64
		bareCR  int64
	}{
		{"bare LF both sides", "a\n.\nb\r\n", "\n.\n", 1, 2, 0},
		{"bare LF then CRLF", "a\n.\r\nb\r\n", "\n.\r\n", 1, 1, 0},
		{"CRLF then bare LF", "a\r\n.\nb\r\n", "\r\n.\n", 1, 1, 0},
		{"bare CR then CRLF", "a\r.\r\nb\r\n", "\r.\r\n", 1, 0, 1},
		{"bare CR both sides", "a\r.\rb\r\n", "\r.\r", 1, 0, 2},
		{"bare LF then bare CR", "a\n.\rb\r\n", "\n.\r", 1, 1, 1},
		{"CRLF then bare CR", "a\r\n.\rb\r\n", "\r\n.\r", 1, 0, 1},
		{"bare CR then bare LF", "a\r.\nb\r\n", "\r.\n", 1, 1, 1},
		{"at content start", ".\nb\r\n", ".\n", 0, 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			events := []event{
				srv("220 mx\r\n"), cli("DATA\r\n"), srv("354 go\r\n"),
				cli(tc.content + ".\r\n"), srv("250 ok\r\n"),
			}
			d := run(t, Options{}, events...)
			b := d.Transactions[0].Body
			start := int64(len("DATA\r\n") + tc.at)
			if len(b.Lenient) != 1 || b.Lenient[0].Seq != tc.seq || b.Lenient[0].At != span(ClientToServer, start, start+int64(len(tc.seq))) {
				t.Fatalf("lenient = %+v, want %q at %d", b.Lenient, tc.seq, start)
			}
			if !b.Complete || b.BareLF.N != tc.bareLF || b.BareCR.N != tc.bareCR {
				t.Errorf("complete %v bareLF %+v bareCR %+v", b.Complete, b.BareLF, b.BareCR)
			}
		})
	}
}

func TestDotStuffingIsUndone(t *testing.T) {
	content := "..hidden\r\n...\r\n. x\r\n.\rtail\r\nend\r\n"
	events := []event{
		srv("220 mx\r\n"), cli("DATA\r\n"), srv("354 go\r\n"),
		cli(content + ".\r\n"), srv("250 ok\r\n"),
	}
	d := run(t, Options{}, events...)
	b := d.Transactions[0].Body
	want := ".hidden\r\n..\r\n x\r\n\rtail\r\nend\r\n"
	if string(b.Kept) != want || b.Size != int64(len(want)) {
		t.Errorf("kept %q size %d, want %q", b.Kept, b.Size, want)
	}
	// ".\r" + "tail": a lenient receiver may see "\r\n.\r" as an end.
	cr := int64(len("DATA\r\n") + strings.Index(content, "\r\n.\rtail"))
	if len(b.Lenient) != 1 || b.Lenient[0].Seq != "\r\n.\r" || b.Lenient[0].At.Start != cr || b.BareCR.N != 1 {
		t.Errorf("lenient %+v bareCR %+v", b.Lenient, b.BareCR)
	}
	if !b.Complete || b.Terminator.Start != int64(len("DATA\r\n")+len(content)) {
		t.Errorf("terminator %v", b.Terminator)
	}
}

func TestEmptyBodyIsJustTheTerminator(t *testing.T) {
	d := run(t, Options{}, srv("220 mx\r\n"), cli("DATA\r\n"), srv("354 go\r\n"), cli(".\r\n"), srv("250 ok\r\n"))
	b := d.Transactions[0].Body
	if !b.Complete || b.Size != 0 || b.Span != span(ClientToServer, 6, 6) || *b.Terminator != span(ClientToServer, 6, 9) {
		t.Errorf("body = %+v terminator %v", b, b.Terminator)
	}
}

// A Cisco PIX/ASA "fixup smtp" replaces verbs it does not know with X's
// and masks EHLO keywords.
func TestMaskedCommandsAreKeptAndFlagged(t *testing.T) {
	events := []event{
		srv("220 ****************************2*0*0***0*0***0*0\r\n"),
		cli("XXXX client.example.com\r\n"),
		srv("500 5.5.1 Command unrecognized: \"XXXX client.example.com\"\r\n"),
		cli("HELO client.example.com\r\n"),
		srv("250 mx.example.org\r\n"),
		cli("MAIL FROM:<a@example.com>\r\n"),
		srv("250 ok\r\n"),
		cli("XXXX TO:<b@x>\r\n"),
		srv("500 5.5.1 Command unrecognized\r\n"),
	}
	d := run(t, Options{}, events...)
	golden(t, "masked_commands", d)
	for _, i := range []int{0, 3} {
		c := d.Commands[i]
		if c.Verb != "XXXX" || !c.Masked || c.Known || !hasProblem(c.Problems, problemMaskedVerb) || c.Reply == nil || c.Reply.Code != 500 {
			t.Errorf("command %d = %+v", i, c)
		}
	}
	if m := d.Commands[3]; m.Path != "b@x" || m.Args != "TO:<b@x>" {
		t.Errorf("masked RCPT path %q args %q", m.Path, m.Args)
	}
	if d.Hello != d.Commands[1] {
		t.Errorf("hello = %+v", d.Hello)
	}
	if tx := d.Transactions[0]; len(tx.Rcpts) != 0 {
		t.Errorf("masked RCPT counted as recipient")
	}
}

func TestEHLOReplyWithMaskedKeywords(t *testing.T) {
	d := run(t, Options{},
		srv("220 mx\r\n"),
		cli("EHLO c\r\n"),
		srv("250-mx.example.org Hello\r\n250-XXXXXXXA\r\n250-SIZE 52428800\r\n250-XXXXXXXB\r\n250 8BITMIME\r\n"),
	)
	e := d.Extensions
	if !e.Offered || !slices.Equal(e.Lines, []string{"mx.example.org Hello", "XXXXXXXA", "SIZE 52428800", "XXXXXXXB", "8BITMIME"}) {
		t.Fatalf("extensions = %+v", e)
	}
	if !e.Has("XXXXXXXA") || !e.Has("8bitmime") || e.Has("PIPELINING") || e.Size != 52428800 {
		t.Errorf("keywords = %v size %d", e.Keywords, e.Size)
	}
}

func TestCommandSplitAcrossWritesKeepsSpanAndOrders(t *testing.T) {
	events := []event{
		srv("220 mx\r\n"),
		cli("EHLO c\r\n"),
		srv("250 mx\r\n"),
		cli("MAIL FROM:<a@example.com>\r\n", 4, 26), // "MAIL" | " FROM:<a@example.com>\r" | "\n"
		srv("250 ok\r\n"),
	}
	d := run(t, Options{}, events...)
	m := d.Commands[1]
	if m.Span != span(ClientToServer, 8, 35) || m.Length != 27 || m.Ending != LineEndingCRLF {
		t.Fatalf("span %v length %d ending %s", m.Span, m.Length, m.Ending)
	}
	if m.Order != 3*orderStride || m.EndOrder != 3*orderStride+2 || m.Path != "a@example.com" {
		t.Errorf("order %d..%d path %q", m.Order, m.EndOrder, m.Path)
	}
	if string(m.Line) != "MAIL FROM:<a@example.com>\r\n" || m.Reply == nil || m.Reply.Code != 250 {
		t.Errorf("line %q reply %v", m.Line, m.Reply)
	}
}

func TestDataRejectedFollowingBytesAreCommands(t *testing.T) {
	events := []event{
		srv("220 mx\r\n"),
		cli("MAIL FROM:<a@b>\r\nRCPT TO:<nobody@b>\r\nDATA\r\n"),
		cli("Subject: hi\r\n\r\n"),
		srv("250 ok\r\n550 5.1.1 no such user\r\n554 5.5.1 Error: no valid recipients\r\n"),
		srv("500 5.5.2 Error: bad syntax\r\n500 5.5.2 Error: bad syntax\r\n"),
		cli("QUIT\r\n"),
		srv("221 bye\r\n"),
	}
	d := run(t, Options{}, events...)
	if got := verbs(d); !slices.Equal(got, []string{"MAIL", "RCPT", "DATA", "SUBJECT:", "", "QUIT"}) {
		t.Fatalf("verbs = %q", got)
	}
	data, subj, empty := d.Commands[2], d.Commands[3], d.Commands[4]
	if data.Reply.Code != 554 || data.Reply.Enhanced != "5.5.1" {
		t.Errorf("DATA reply %+v", data.Reply)
	}
	if !subj.Pipelined || subj.Reply == nil || subj.Reply.Code != 500 || !hasProblem(subj.Problems, problemUnknownVerb) {
		t.Errorf("Subject line = %+v", subj)
	}
	if !hasProblem(empty.Problems, problemEmptyLine) || empty.Reply == nil {
		t.Errorf("empty line = %+v", empty)
	}
	tx := d.Transactions[0]
	if tx.Body != nil || tx.Reset != d.Commands[5] || tx.FinalReply != nil {
		t.Errorf("transaction = %+v", tx)
	}
}

func TestBodyWrittenBefore354IsContent(t *testing.T) {
	body := "Subject: eager\r\n\r\nno waiting\r\n"
	events := []event{
		srv("220 mx\r\n"),
		cli("MAIL FROM:<a@b>\r\n"),
		srv("250 ok\r\n"),
		cli("RCPT TO:<c@d>\r\n"),
		srv("250 ok\r\n"),
		cli("DATA\r\n" + body + ".\r\nQUIT\r\n"),
		srv("354 go\r\n"),
		srv("250 queued\r\n221 bye\r\n"),
	}
	d := run(t, Options{}, events...)
	data := d.Commands[2]
	if !hasProblem(data.Problems, problemEarlyContent) || data.Reply.Code != 354 {
		t.Errorf("DATA = %+v", data)
	}
	tx := d.Transactions[0]
	if !tx.Body.Complete || string(tx.Body.Kept) != body || tx.FinalReply == nil || tx.FinalReply.Code != 250 {
		t.Errorf("transaction %+v body %+v", tx, tx.Body)
	}
	if q := d.Commands[3]; q.Verb != "QUIT" || !q.Pipelined || q.Reply.Code != 221 {
		t.Errorf("QUIT = %+v", q)
	}
	if d.HeldAssumed {
		t.Error("held assumed with a server present")
	}
}

func TestClientOnlyCaptureAssumesReplies(t *testing.T) {
	events := []event{
		cli("EHLO c\r\n"),
		cli("MAIL FROM:<a@b>\r\n"),
		cli("RCPT TO:<c@d>\r\n"),
		cli("DATA\r\n"),
		cli("Subject: one-sided\r\n\r\nbody\r\n.\r\n"),
		cli("QUIT\r\n"),
	}
	for _, maxHeld := range []int{0, 8, -1} {
		d := run(t, Options{MaxHeld: maxHeld}, events...)
		if !d.HeldAssumed || !hasProblem(d.Commands[3].Problems, problemAssumed354) {
			t.Fatalf("MaxHeld %d: held assumed %v, DATA problems %q", maxHeld, d.HeldAssumed, d.Commands[3].Problems)
		}
		if got := verbs(d); !slices.Equal(got, []string{"EHLO", "MAIL", "RCPT", "DATA", "QUIT"}) {
			t.Errorf("MaxHeld %d: verbs = %q", maxHeld, got)
		}
		b := d.Transactions[0].Body
		if !b.Complete || string(b.Kept) != "Subject: one-sided\r\n\r\nbody\r\n" {
			t.Errorf("MaxHeld %d: body %+v", maxHeld, b)
		}
		for _, c := range d.Commands {
			if c.Pipelined || c.Reply != nil {
				t.Errorf("MaxHeld %d: %s pipelined %v reply %v", maxHeld, c.Verb, c.Pipelined, c.Reply)
			}
		}
		if d.Greeting != nil || len(d.Replies) != 0 {
			t.Errorf("greeting %v replies %d", d.Greeting, len(d.Replies))
		}
	}
}

func TestSTARTTLSStopsParsing(t *testing.T) {
	hello := "\x16\x03\x01\x00\x30client hello bytes\r\nMAIL FROM:<hidden@x>\r\n"
	events := []event{
		srv("220 mx ESMTP\r\n"),
		cli("EHLO c\r\n"),
		srv("250-mx\r\n250-STARTTLS\r\n250 SIZE 1000\r\n"),
		cli("STARTTLS\r\n"),
		srv("220 2.0.0 Ready to start TLS\r\n\x16\x03\x03\x00\x10server"),
		cli(hello),
		srv("\x17\x03\x03\x00\x20encrypted 250 OK\r\n"),
	}
	d := run(t, Options{}, events...)
	golden(t, "starttls", d)
	tls := d.TLS
	if tls == nil || tls.Command != d.Commands[1] || tls.Reply.Code != 220 {
		t.Fatalf("tls = %+v", tls)
	}
	if !tls.LooksLikeTLS || tls.ClientBytes != int64(len(hello)) || tls.ServerBytes != 11+int64(len("\x17\x03\x03\x00\x20encrypted 250 OK\r\n")) {
		t.Errorf("tls = %+v", tls)
	}
	if got := verbs(d); !slices.Equal(got, []string{"EHLO", "STARTTLS"}) {
		t.Errorf("verbs = %q", got)
	}
	if len(d.Replies) != 3 || !d.Extensions.Has("STARTTLS") || d.Extensions.Size != 1000 {
		t.Errorf("replies %d extensions %+v", len(d.Replies), d.Extensions)
	}
}

func TestAuthExchangesAreSensitive(t *testing.T) {
	events := []event{
		srv("220 mx\r\n"),
		cli("EHLO c\r\n"),
		srv("250-mx\r\n250 AUTH PLAIN LOGIN\r\n"),
		// AUTH PLAIN without initial response.
		cli("AUTH PLAIN\r\n"),
		srv("334 \r\n"),
		cli("AGFsaWNlAHdyb25n\r\n"),
		srv("535 5.7.8 Authentication credentials invalid\r\n"),
		// AUTH LOGIN: two challenges; the client answers the first before it arrives.
		cli("AUTH LOGIN\r\nYWxpY2U=\r\n"),
		srv("334 VXNlcm5hbWU6\r\n"),
		srv("334 UGFzc3dvcmQ6\r\n"),
		cli("c2VjcmV0\r\n"),
		srv("235 2.7.0 Authentication successful\r\n"),
		// With an initial response: no challenge.
		cli("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"),
		srv("503 5.5.1 Error: already authenticated\r\n"),
		cli("MAIL FROM:<alice@example.com>\r\n"),
		srv("250 ok\r\n"),
	}
	d := run(t, Options{}, events...)
	golden(t, "auth", d)
	want := []struct {
		verb      string
		mech      string
		sensitive bool
		reply     int
	}{
		// AUTH without an initial response holds no credential; the
		// answers to the challenges do, and carry their exchange's
		// mechanism.
		{"EHLO", "", false, 250},
		{"AUTH", "PLAIN", false, 334},
		{"", "PLAIN", true, 535},
		{"AUTH", "LOGIN", false, 334},
		{"", "LOGIN", true, 334},
		{"", "LOGIN", true, 235},
		{"AUTH", "PLAIN", true, 503},
		{"MAIL", "", false, 250},
	}
	if len(d.Commands) != len(want) {
		t.Fatalf("verbs = %q", verbs(d))
	}
	for i, w := range want {
		c := d.Commands[i]
		if c.Verb != w.verb || c.Mechanism != w.mech || c.Sensitive != w.sensitive || c.Reply == nil || c.Reply.Code != w.reply {
			t.Errorf("command %d = verb %q mech %q sensitive %v reply %v; want %+v", i, c.Verb, c.Mechanism, c.Sensitive, c.Reply, w)
		}
		for _, p := range c.Problems {
			if strings.Contains(p, "YWxp") || strings.Contains(p, "c2Vj") {
				t.Errorf("problem leaks a credential: %q", p)
			}
		}
	}
	// Sent before the 334 arrived: pipelined, and held until the 334 said
	// it is a continuation.
	if d.Commands[4].Args != "YWxpY2U=" || !d.Commands[4].Pipelined {
		t.Errorf("held continuation = %+v", d.Commands[4])
	}
}

func TestBDATChunkCutShortByStreamEnd(t *testing.T) {
	events := []event{
		srv("220 mx\r\n"),
		cli("BDAT 100 LAST\r\n" + strings.Repeat("x", 40)),
	}
	d := run(t, Options{}, events...)
	tx := d.Transactions[0]
	ch := tx.Chunks[0]
	if ch.Declared != 100 || ch.Data != span(ClientToServer, 15, 55) || tx.Body.Complete || tx.Body.Size != 40 {
		t.Errorf("chunk %+v body %+v", ch, tx.Body)
	}
	if tx.Body.LongestLine != 40 {
		t.Errorf("longest line %d", tx.Body.LongestLine)
	}
}

// TestA421InTheMiddleOfABDATChunkInterruptsTheMessage: a server answers a
// BDAT once it has the whole chunk (RFC 3030), so a 421 while the chunk is
// still coming (the client closed its side, or stopped sending) is the
// server giving up on the message, as a 421 during DATA is: no final
// reply. Any other refusal then answers the BDAT itself (its syntax).
func TestA421InTheMiddleOfABDATChunkInterruptsTheMessage(t *testing.T) {
	d := run(t, Options{}, srv("220 mx\r\n"), cli("EHLO c\r\n"), srv("250-mx\r\n250 CHUNKING\r\n"),
		cli("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.test>\r\nBDAT 1000 LAST\r\n"+strings.Repeat("x", 80)),
		srv("250 ok\r\n250 ok\r\n421 Lost incoming connection\r\n"))
	tx := d.Transactions[0]
	bdat := tx.Chunks[0].Command
	if tx.Interrupt == nil || tx.Interrupt.Code != 421 || tx.FinalReply != nil || bdat.Reply != tx.Interrupt || tx.Body.Size != 80 || tx.Body.Complete {
		t.Errorf("interrupt %+v, final reply %+v, BDAT's reply %+v, body %+v", tx.Interrupt, tx.FinalReply, bdat.Reply, tx.Body)
	}

	d = run(t, Options{}, srv("220 mx\r\n"), cli("EHLO c\r\n"), srv("250-mx\r\n250 CHUNKING\r\n"),
		cli("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.test>\r\nBDAT 5 X\r\n"),
		srv("250 ok\r\n250 ok\r\n521 5.5.4 Syntax: BDAT count [LAST]\r\n"))
	if tx := d.Transactions[0]; tx.Interrupt != nil || tx.Chunks[0].Command.Reply == nil || tx.Chunks[0].Command.Reply.Code != 521 {
		t.Errorf("a BDAT refused for its syntax: interrupt %+v, its reply %+v", tx.Interrupt, tx.Chunks[0].Command.Reply)
	}
}

// TestGapPastTheEndOfABDATChunk: a capture gap that starts inside a chunk
// and runs past its declared end ends the chunk and the body where the
// chunk ends, not where the gap does.
func TestGapPastTheEndOfABDATChunk(t *testing.T) {
	d := run(t, Options{}, srv("220 mx\r\n"), cli("BDAT 5 LAST\r\nab"), cliGap(10), cli("QUIT\r\n"))
	tx := d.Transactions[0]
	if ch := tx.Chunks[0]; ch.Data != span(ClientToServer, 13, 18) || tx.Body.Span != span(ClientToServer, 13, 18) {
		t.Errorf("chunk %v, body %v; want both [13,18)", ch.Data, tx.Body.Span)
	}
}

func TestBDATSizeNotANumberIsFlagged(t *testing.T) {
	d := run(t, Options{}, srv("220 mx\r\n"), cli("BDAT many LAST\r\nQUIT\r\n"), srv("501 bad\r\n221 bye\r\n"))
	c := d.Commands[0]
	if !hasProblem(c.Problems, problemBDATSize) || d.Transactions[0].Chunks[0].Declared != -1 {
		t.Errorf("BDAT = %+v", c)
	}
	if d.Commands[1].Verb != "QUIT" || d.Commands[1].Reply.Code != 221 {
		t.Errorf("QUIT = %+v", d.Commands[1])
	}
}

func TestMultilineReplyWithInconsistentCodes(t *testing.T) {
	d := run(t, Options{}, srv("220 mx\r\n"), cli("NOOP\r\n"), srv("250-first\r\n251-second\r\n250 third\r\n"))
	r := d.Commands[0].Reply
	if r == nil || r.Code != 250 || !slices.Equal(r.Lines, []string{"first", "second", "third"}) || !hasProblem(r.Problems, problemInconsistent) {
		t.Fatalf("reply = %+v", r)
	}
	if r.Span != span(ServerToClient, 8, 8+11+12+11) {
		t.Errorf("span = %v", r.Span)
	}
}

func TestMalformedReplyLinesAnswerNothing(t *testing.T) {
	d := run(t, Options{},
		srv("garbage before greeting\r\n220 mx\r\n"),
		cli("NOOP\r\n"),
		srv("2.0.0 OK\r\n250 ok\n"),
	)
	if got := codes(d); !slices.Equal(got, []int{0, 220, 0, 250}) {
		t.Fatalf("codes = %v", got)
	}
	if d.Greeting != d.Replies[1] || d.Replies[0].Command != nil || d.Replies[2].Command != nil {
		t.Errorf("greeting %v / malformed matched", d.Greeting)
	}
	if !hasProblem(d.Replies[0].Problems, problemMalformedReply) || d.Replies[0].Lines[0] != "garbage before greeting" {
		t.Errorf("malformed = %+v", d.Replies[0])
	}
	if d.Commands[0].Reply != d.Replies[3] || !hasProblem(d.Replies[3].Problems, problemBareLF) {
		t.Errorf("NOOP reply = %+v", d.Commands[0].Reply)
	}
}

func TestCommandsBeforeGreetingAreFlagged(t *testing.T) {
	d := run(t, Options{},
		srv("220-mx.example.org ESMTP\r\n"),
		cli("EHLO eager\r\n"),
		srv("220 please wait for the full greeting\r\n"),
		srv("250 mx\r\n"),
	)
	c := d.Commands[0]
	if !hasProblem(c.Problems, ProblemBeforeGreeting) || c.Reply == nil || c.Reply.Code != 250 || c.Pipelined {
		t.Errorf("EHLO = %+v", c)
	}
	if d.Greeting == nil || len(d.Greeting.Lines) != 2 || d.Greeting.Command != nil {
		t.Errorf("greeting = %+v", d.Greeting)
	}
}

func TestGapInMiddleOfCommandResynchronises(t *testing.T) {
	events := []event{
		srv("220 mx\r\n"),
		cli("EHLO c\r\n"),
		srv("250 mx\r\n"),
		cli("MAIL FROM:<al"),
		cliGap(5),
		cli("example.com>\r\nRCPT TO:<bob@example.org>\r\n"),
		srv("250 sender ok\r\n250 recipient ok\r\n"),
	}
	d := run(t, Options{}, events...)
	golden(t, "gap_in_command", d)
	if got := verbs(d); !slices.Equal(got, []string{"EHLO", "MAIL", "RCPT"}) {
		t.Fatalf("verbs = %q", got)
	}
	m := d.Commands[1]
	if !m.Gap || m.Span != span(ClientToServer, 8, 21) || m.Ending != LineEndingNone || m.Reply.Lines[0] != "sender ok" {
		t.Errorf("MAIL = %+v", m)
	}
	if !hasProblem(m.Problems, problemGapCut) {
		t.Errorf("MAIL problems %q", m.Problems)
	}
	if r := d.Commands[2]; r.Path != "bob@example.org" || r.Reply.Lines[0] != "recipient ok" || r.Span.Start != 40 {
		t.Errorf("RCPT = %+v", r)
	}
	if !slices.Equal(d.Gaps, []Span{span(ClientToServer, 21, 26)}) || !slices.Equal(d.Unparsed, []Span{span(ClientToServer, 26, 40)}) {
		t.Errorf("gaps %v unparsed %v", d.Gaps, d.Unparsed)
	}
	if tx := d.Transactions[0]; tx.Mail != m || len(tx.Rcpts) != 1 {
		t.Errorf("transaction = %+v", tx)
	}
}

func TestGapInServerReplyMarksIt(t *testing.T) {
	d := run(t, Options{},
		srv("220 mx\r\n"),
		cli("EHLO c\r\nNOOP\r\n"),
		srv("250-mx\r\n250-SI"),
		srvGap(20),
		srv("PELINING\r\n250 ok\r\n"),
	)
	if got := codes(d); !slices.Equal(got, []int{220, 250, 250}) {
		t.Fatalf("codes = %v", got)
	}
	if r := d.Commands[0].Reply; !r.Gap || r.Span != span(ServerToClient, 8, 22) {
		t.Errorf("EHLO reply = %+v", r)
	}
	if r := d.Commands[1].Reply; r == nil || r.Lines[0] != "ok" || r.Gap {
		t.Errorf("NOOP reply = %+v", r)
	}
	if !slices.Equal(d.Unparsed, []Span{span(ServerToClient, 42, 52)}) {
		t.Errorf("unparsed = %v", d.Unparsed)
	}
}

// TestSnaplenCutLinesAreStillRead: with tcpdump -s 96 every packet loses
// its tail, so each line is cut by a gap and the next packet starts right
// after one. A command or reply that begins there is read (cut, marked
// Gap), not skipped while resynchronising: the RCPT and the message's
// 250 below were lost before.
func TestSnaplenCutLinesAreStillRead(t *testing.T) {
	d := run(t, Options{},
		srv("220 mx.exa"), srvGap(6),
		cli("EHLO c\r\n"),
		srv("250-mx Hello c"), srvGap(30),
		cli("MAIL FROM:<a@exa"), cliGap(13),
		srv("250 OK\r\n"),
		cli("RCPT TO:<b@exa"), cliGap(14),
		srv("250 Accepted\r\n"),
		cli("DATA\r\n"),
		srv("354 Enter mes"), srvGap(20),
		cli("Subject: x\r\n\r\nbody\r\n.\r\n"),
		srv("250 OK id=1"), srvGap(5),
		cli("QUIT\r\n"),
		srv("221 bye\r\n"),
	)
	if got := verbs(d); !slices.Equal(got, []string{"EHLO", "MAIL", "RCPT", "DATA", "QUIT"}) {
		t.Fatalf("verbs = %q", got)
	}
	if got := codes(d); !slices.Equal(got, []int{220, 250, 250, 250, 354, 250, 221}) {
		t.Fatalf("codes = %v", got)
	}
	rcpt := d.Commands[2]
	if !rcpt.Gap || rcpt.Span != span(ClientToServer, 37, 51) || rcpt.Reply == nil || rcpt.Reply.Lines[0] != "Accepted" {
		t.Errorf("RCPT = %+v", rcpt)
	}
	if len(d.Transactions) != 1 || len(d.Transactions[0].Rcpts) != 1 {
		t.Fatalf("transactions = %+v", d.Transactions)
	}
	if r := d.Transactions[0].FinalReply; r == nil || r.Code != 250 || !r.Gap || r.Lines[0] != "OK id=1" {
		t.Errorf("the message's reply = %+v", r)
	}
}

// TestASnaplenCutMultiLineReplyIsOneReply: a multi-line reply cut in
// several packets goes on after each gap: the next packet's "250-" line
// is that reply's, not a reply of its own that would answer the next
// command.
func TestASnaplenCutMultiLineReplyIsOneReply(t *testing.T) {
	d := run(t, Options{},
		srv("220 mx\r\n"),
		cli("EHLO c\r\n"),
		srv("250-mx Hello c\r\n250-SIZE 1"), srvGap(10),
		srv("250-PIPELI"), srvGap(20),
		srv("250-8BITMI"), srvGap(8),
		cli("MAIL FROM:<a@example.org>\r\n"),
		srv("250 OK\r\n"),
	)
	if got := codes(d); !slices.Equal(got, []int{220, 250, 250}) {
		t.Fatalf("codes = %v", got)
	}
	if r := d.Commands[1].Reply; r == nil || r.Lines[0] != "OK" {
		t.Errorf("MAIL's reply = %+v", r)
	}
}

func TestAReplyCutAfterAContinuationLineGoesOnAfterTheGap(t *testing.T) {
	// A server that writes its EHLO reply in three pieces, captured with
	// a small snaplen: each packet loses its tail, the next one starts
	// with the reply's next line.
	d := run(t, Options{},
		srv("220 mx.example.test ESMTP mult"), srvGap(19),
		cli("EHLO client.example.org\r\n"),
		srv("250-mx.example.test Hello clie"), srvGap(70),
		srv("250-PIPELINING\r\n250-ENHANCEDST"), srvGap(20),
		srv("250-SMTPUTF8\r\n250 CHUNKING\r\n"),
		cli("MAIL FROM:<a@example.org>\r\n"),
		srv("250 2.1.0 Ok\r\n"),
	)
	if got := codes(d); !slices.Equal(got, []int{220, 250, 250}) {
		t.Fatalf("codes = %v", got)
	}
	r := d.Commands[0].Reply
	if want := []string{"mx.example.test Hello clie", "PIPELINING", "ENHANCEDST", "SMTPUTF8", "CHUNKING"}; r == nil || !slices.Equal(r.Lines, want) {
		t.Fatalf("EHLO's reply = %+v, want lines %q", r, want)
	}
	if !r.Gap || hasProblem(r.Problems, ProblemIncompleteReply) || r.Span != (Span{ServerToClient, 30 + 19, 30 + 19 + 30 + 70 + 30 + 20 + 28}) {
		t.Errorf("EHLO's reply: gap %v, problems %q, span %+v", r.Gap, r.Problems, r.Span)
	}
	if !d.Extensions.Has("PIPELINING") || !d.Extensions.Has("CHUNKING") || !d.Extensions.Cut {
		t.Errorf("extensions = %+v, cut %v; want PIPELINING and CHUNKING, from a reply the capture cut", d.Extensions.Keywords, d.Extensions.Cut)
	}
	if r := d.Commands[1].Reply; r == nil || r.Lines[0] != "2.1.0 Ok" {
		t.Errorf("MAIL's reply = %+v", r)
	}
}

func TestAnEHLOReplySeenMidStreamGoesOnAfterTheGapToo(t *testing.T) {
	// The capture began after the client's EHLO: the multi-line 250 is
	// taken for its reply, and what it offers still grows with the lines
	// after the gap.
	d := run(t, Options{MidStream: true},
		srv("250-mx.example.test Hello c\r\n250-PIPELINING\r\n250-ENHANCEDST"), srvGap(20),
		srv("250-SMTPUTF8\r\n250 CHUNKING\r\n"),
		cli("MAIL FROM:<a@example.org>\r\n"),
		srv("250 2.1.0 Ok\r\n"),
	)
	if !d.Extensions.Has("PIPELINING") || !d.Extensions.Has("CHUNKING") || !d.Extensions.Cut {
		t.Errorf("extensions = %+v, cut %v; want PIPELINING and CHUNKING, from a reply the capture cut", d.Extensions.Keywords, d.Extensions.Cut)
	}
}

func TestAReplyCutAfterAContinuationLineIsNotExtendedByTheNextCommandsReply(t *testing.T) {
	// The client spoke after the gap: the gap may have held the rest of
	// the reply, and the next 250 answers the client's MAIL.
	d := run(t, Options{},
		srv("220 mx\r\n"),
		cli("EHLO c\r\n"),
		srv("250-mx Hello c\r\n250-SIZE 1"), srvGap(40),
		cli("MAIL FROM:<a@example.org>\r\n"),
		srv("250 2.1.0 Ok\r\n"),
	)
	if got := codes(d); !slices.Equal(got, []int{220, 250, 250}) {
		t.Fatalf("codes = %v", got)
	}
	if r := d.Commands[0].Reply; r == nil || len(r.Lines) != 2 || !r.Gap {
		t.Errorf("EHLO's reply = %+v", r)
	}
	if r := d.Commands[1].Reply; r == nil || r.Lines[0] != "2.1.0 Ok" {
		t.Errorf("MAIL's reply = %+v", r)
	}
}

func TestADATACutShortIsKnownByIts354(t *testing.T) {
	// tcpdump -s 96: RCPT and DATA pipelined in one packet, cut after
	// the "D" or before DATA's line end; the 354 says what it was, and
	// the next packet is the message, read as one (its lines counted).
	for _, cut := range []string{"D", "DATA"} {
		lost := int64(len("DATA\r\n") - len(cut))
		d := run(t, Options{},
			srv("220 mx\r\n"),
			cli("EHLO c\r\n"),
			srv("250 mx\r\n"),
			cli("MAIL FROM:<a@example.org>\r\n"),
			srv("250 OK\r\n"),
			cli("RCPT TO:<b@example.test>\r\n"+cut), cliGap(lost),
			srv("250 Accepted\r\n354 Enter message\r\n"),
			cli("Subject: cut\r\n\r\nbody\r\n.\r\n"),
			srv("250 OK id=1\r\n"),
			cli("QUIT\r\n"),
			srv("221 bye\r\n"),
		)
		if got := verbs(d); !slices.Equal(got, []string{"EHLO", "MAIL", "RCPT", "DATA", "QUIT"}) {
			t.Fatalf("%q: verbs = %q", cut, got)
		}
		start := int64(len("EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n"))
		tx := d.Transactions[0]
		if b := tx.Body; tx.Data != d.Commands[3] || b == nil || !b.Complete || b.Gap || b.Span.Start != start ||
			b.Size != int64(len("Subject: cut\r\n\r\nbody\r\n")) || tx.FinalReply == nil || tx.FinalReply.Code != 250 {
			t.Fatalf("%q: transaction %+v, body %+v", cut, tx, tx.Body)
		}
		if c := d.Commands[3]; !c.Gap || c.Reply == nil || c.Reply.Code != 354 || hasProblem(c.Problems, problemUnknownVerb) {
			t.Errorf("%q: DATA = %+v", cut, c)
		}
	}
}

func TestACutLineAnsweredOtherwiseStaysWhatItWas(t *testing.T) {
	// Only a 354 says DATA: a cut "D" refused with 500 stays a cut line,
	// and what follows is read as commands.
	d := run(t, Options{},
		srv("220 mx\r\n"),
		cli("MAIL FROM:<a@example.org>\r\n"),
		srv("250 OK\r\n"),
		cli("RCPT TO:<b@example.test>\r\nD"), cliGap(5),
		srv("250 Accepted\r\n500 unrecognized\r\n"),
		cli("QUIT\r\n"),
		srv("221 bye\r\n"),
	)
	if got := verbs(d); !slices.Equal(got, []string{"MAIL", "RCPT", "D", "QUIT"}) {
		t.Fatalf("verbs = %q", got)
	}
	if tx := d.Transactions[0]; tx.Data != nil || tx.Body != nil {
		t.Errorf("transaction %+v", tx)
	}
}

func TestGapInBodyStaysInContent(t *testing.T) {
	events := []event{
		srv("220 mx\r\n"),
		cli("DATA\r\n"),
		srv("354 go\r\n"),
		cli("line one\r\nline"),
		cliGap(100),
		cli(" two\r\n\n.\nQUIT\r\n.\r\n"),
		srv("250 ok\r\n"),
	}
	d := run(t, Options{}, events...)
	b := d.Transactions[0].Body
	if !b.Gap || !b.Complete || b.Size != int64(len("line one\r\nline two\r\n\n.\nQUIT\r\n")) {
		t.Errorf("body = %+v", b)
	}
	if len(b.Lenient) != 1 || !b.Lenient[0].CommandsAfter {
		t.Errorf("lenient = %+v", b.Lenient)
	}
	if d.Transactions[0].FinalReply == nil {
		t.Error("no final reply")
	}
}

func TestLostTerminatorRecoveredByFinalReply(t *testing.T) {
	d := run(t, Options{},
		srv("220 mx\r\n"),
		cli("DATA\r\n"),
		srv("354 go\r\n"),
		cli("content\r\n"),
		cliGap(50),
		srv("250 queued\r\n"),
		cli("QUIT\r\n"),
		srv("221 bye\r\n"),
	)
	tx := d.Transactions[0]
	if tx.Body.Complete || !tx.Body.Gap || tx.FinalReply == nil || tx.FinalReply.Code != 250 || !hasProblem(tx.FinalReply.Problems, problemLostTerminator) {
		t.Fatalf("transaction %+v body %+v", tx, tx.Body)
	}
	if got := verbs(d); !slices.Equal(got, []string{"DATA", "QUIT"}) || d.Commands[1].Reply.Code != 221 {
		t.Errorf("verbs = %q", got)
	}
}

func TestMidStreamStartInsideBody(t *testing.T) {
	events := []event{
		cli("ail of a line we joined late\r\nmore text\r\n.\r\nQUIT\r\n"),
		srv("ued as 4FZ\r\n250 2.0.0 Ok: queued as 12345\r\n221 2.0.0 Bye\r\n"),
	}
	d := run(t, Options{MidStream: true}, events...)
	golden(t, "midstream_body", d)
	cs := stream(events, ClientToServer)
	dot := at(t, cs, ".\r\nQUIT", 0)
	if d.Greeting != nil {
		t.Errorf("greeting = %+v", d.Greeting)
	}
	if len(d.Transactions) != 1 {
		t.Fatalf("%d transactions", len(d.Transactions))
	}
	tx := d.Transactions[0]
	b := tx.Body
	if b.Span != span(ClientToServer, 0, dot) || *b.Terminator != span(ClientToServer, dot, dot+3) || !b.Gap || b.Complete {
		t.Errorf("body = %+v", b)
	}
	if f := tx.FinalReply; f == nil || !f.Final || f.Code != 250 || tx.Mail != nil {
		t.Errorf("final = %+v", f)
	}
	if got := verbs(d); !slices.Equal(got, []string{"QUIT"}) || d.Commands[0].Reply.Code != 221 {
		t.Errorf("verbs = %q", got)
	}
	want := []Span{span(ClientToServer, 0, dot), span(ServerToClient, 0, 12)}
	if !slices.Equal(d.Unparsed, want) {
		t.Errorf("unparsed = %v, want %v", d.Unparsed, want)
	}
}

func TestMidStreamStartAtCommand(t *testing.T) {
	d := run(t, Options{MidStream: true},
		cli("0 bytes\r\nRCPT TO:<x@y>\r\n"),
		srv("250 ok\r\n"),
	)
	if got := verbs(d); !slices.Equal(got, []string{"RCPT"}) || d.Commands[0].Reply.Code != 250 {
		t.Fatalf("verbs = %q", got)
	}
	if !slices.Equal(d.Unparsed, []Span{span(ClientToServer, 0, 9)}) {
		t.Errorf("unparsed = %v", d.Unparsed)
	}
}

func TestBinaryGarbageLinesAreKeptAsCommands(t *testing.T) {
	garbage := "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\xa7\n"
	d := run(t, Options{},
		srv("220 mx\r\n"),
		cli(garbage+"\x00\x00\r\n\xff\xfe GET / HTTP/1.1\r\n"),
		srv("500 5.5.2 Error: bad syntax\r\n500 5.5.2 Error: bad syntax\r\n500 5.5.2 Error: bad syntax\r\n"),
	)
	if len(d.Commands) != 3 {
		t.Fatalf("verbs = %q", verbs(d))
	}
	g := d.Commands[0]
	if string(g.Line) != garbage || g.Span != span(ClientToServer, 0, int64(len(garbage))) || g.Known || g.Ending != LineEndingLF {
		t.Errorf("garbage = %+v", g)
	}
	for _, p := range []string{problemControl, ProblemNonASCII, problemBareLF, problemUnknownVerb} {
		if !hasProblem(g.Problems, p) {
			t.Errorf("garbage problems %q lack %q", g.Problems, p)
		}
	}
	for i, c := range d.Commands {
		if c.Reply == nil || c.Reply.Code != 500 {
			t.Errorf("command %d reply %v", i, c.Reply)
		}
	}
	if d.Commands[2].Verb != "\xff\xfe" || d.Commands[2].Args != "GET / HTTP/1.1" {
		t.Errorf("third = %+v", d.Commands[2])
	}
}

func TestMailAndRcptSyntaxProblems(t *testing.T) {
	long := "RCPT TO:<" + strings.Repeat("a", 600) + "@x>"
	cases := []struct {
		line     string
		verb     string
		path     string
		params   map[string]string
		problems []string
	}{
		{"MAIL FROM:<a@b>", "MAIL", "a@b", nil, nil},
		{"mail from:<a@b> size=10", "MAIL", "a@b", map[string]string{"SIZE": "10"}, nil},
		{"MAIL FROM:<>", "MAIL", "", nil, nil},
		{"MAIL FROM: SIZE=12345", "MAIL", "", map[string]string{"SIZE": "12345"}, []string{ProblemSpaceAfterColon, problemNoPathMail}},
		{"MAIL FROM: <a@b> BODY=8BITMIME SMTPUTF8", "MAIL", "a@b", map[string]string{"BODY": "8BITMIME", "SMTPUTF8": ""}, []string{ProblemSpaceAfterColon}},
		{"MAIL FROM:a@b", "MAIL", "a@b", nil, []string{problemNoBrackets}},
		{"MAIL FROM:", "MAIL", "", nil, []string{problemNoPathMail}},
		{"MAIL <a@b>", "MAIL", "", nil, []string{problemMailNoFrom}},
		{"RCPT TO:<\"odd>local\"@x> NOTIFY=NEVER", "RCPT", "\"odd>local\"@x", map[string]string{"NOTIFY": "NEVER"}, nil},
		{"RCPT TO:<a@b", "RCPT", "a@b", nil, []string{problemUnterminatedPath}},
		{"RCPT TO:<a@b>junk", "RCPT", "a@b", nil, []string{problemJunkAfterPath}},
		{"RCPT TO:", "RCPT", "", nil, []string{problemNoPathRcpt}},
		{long, "RCPT", strings.Repeat("a", 600) + "@x", nil, []string{problemLongCommand}},
		{"HELO", "HELO", "", nil, []string{problemNoDomain}},
		{"DATA now", "DATA", "", nil, []string{problemUnexpectedArgs}},
	}
	for _, tc := range cases {
		t.Run(tc.line[:min(len(tc.line), 30)], func(t *testing.T) {
			d := run(t, Options{}, srv("220 mx\r\n"), cli(tc.line+"\r\n"), srv("250 ok\r\n"))
			c := d.Commands[0]
			if c.Verb != tc.verb || c.Path != tc.path || !equalParams(c.Params, tc.params) || !slices.Equal(c.Problems, tc.problems) {
				t.Errorf("got verb %q path %q params %v problems %q; want %q %q %v %q", c.Verb, c.Path, c.Params, c.Problems, tc.verb, tc.path, tc.params, tc.problems)
			}
		})
	}
}

func equalParams(a, b map[string]string) bool {
	if len(a) != len(b) || (a == nil) != (b == nil) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestLineEndingsOfCommands(t *testing.T) {
	d := run(t, Options{}, cli("NOOP\r\nNOOP\nNO\rOP\r\nNOOP\r"))
	want := []struct {
		ending   LineEnding
		problems []string
	}{
		{LineEndingCRLF, nil},
		{LineEndingLF, []string{problemBareLF}},
		{LineEndingCRLF, []string{problemUnknownVerb, problemBareCR}},
		{LineEndingCR, []string{ProblemNoEnding}},
	}
	for i, w := range want {
		c := d.Commands[i]
		if c.Ending != w.ending || !slices.Equal(c.Problems, w.problems) {
			t.Errorf("command %d: ending %s problems %q; want %s %q", i, c.Ending, c.Problems, w.ending, w.problems)
		}
	}
	if d.Commands[3].Verb != "NOOP" || d.Commands[3].Reply != nil {
		t.Errorf("last = %+v", d.Commands[3])
	}
}

func TestLimitsBoundWhatIsKept(t *testing.T) {
	var events []event
	events = append(events, srv("220 mx\r\n"))
	for i := 0; i < 20; i++ {
		events = append(events, cli("NOOP and a rather long argument\r\n"), srv("250 2.0.0 fine and dandy\r\n"))
	}
	events = append(events, cli("DATA\r\n"), srv("354 go\r\n"), cli(strings.Repeat("0123456789", 100)+"\r\n.\r\n"), srv("250 ok\r\n"))
	opts := Options{MaxLineKeep: 8, MaxBodyKeep: 16, MaxElements: 10, MaxKeep: 120}
	d := run(t, opts, events...)
	if len(d.Commands) != 10 || len(d.Replies) != 10 || d.Dropped != 2*(22-10) {
		t.Errorf("commands %d replies %d dropped %d", len(d.Commands), len(d.Replies), d.Dropped)
	}
	c := d.Commands[0]
	if string(c.Line) != "NOOP and" || c.Length != 33 || !hasProblem(c.Problems, problemNotKept) {
		t.Errorf("first = %+v", c)
	}
	if !d.KeepLimited {
		t.Error("budget not reported")
	}
	for _, r := range d.Replies {
		for _, l := range r.Lines {
			if len(l) > 8 {
				t.Errorf("reply line %q longer than MaxLineKeep", l)
			}
		}
	}
	if len(d.Transactions) != 1 || len(d.Transactions[0].Body.Kept) > 16 || d.Transactions[0].Body.Size != 1002 {
		t.Errorf("transactions %+v", d.Transactions)
	}
	if b := d.Transactions[0].Body; b.LongLines.N != 1 || b.LongestLine != 1000 || b.LongLines.First != b.Span.Start {
		t.Errorf("long lines %+v longest %d", b.LongLines, b.LongestLine)
	}
}

func TestPipelinedCommandsBeforeReplyOfEarlierOne(t *testing.T) {
	d := run(t, Options{},
		srv("220 mx\r\n"),
		cli("NOOP\r\n"),
		srv("250-one\r\n"),
		cli("RSET\r\n"), // the NOOP reply is only half there
		srv("250 two\r\n"),
		cli("QUIT\r\n"),
		srv("250 ok\r\n221 bye\r\n"),
	)
	want := []bool{false, true, true}
	for i, w := range want {
		if d.Commands[i].Pipelined != w {
			t.Errorf("%s pipelined %v, want %v", d.Commands[i].Verb, d.Commands[i].Pipelined, w)
		}
	}
}

func TestHeadersAreFoldedAndCapped(t *testing.T) {
	body := "Received: from a\r\n\tby b\r\nMessage-ID:\r\n <folded@example.com>\r\nContent-Transfer-Encoding: Base64\r\n\r\nContent-Transfer-Encoding: 8bit\r\n"
	d := run(t, Options{}, srv("220 mx\r\n"), cli("DATA\r\n"), srv("354 go\r\n"), cli(body+".\r\n"), srv("250 ok\r\n"))
	b := d.Transactions[0].Body
	if b.MessageID != "<folded@example.com>" || b.TransferEncoding != "base64" {
		t.Errorf("message-id %q cte %q", b.MessageID, b.TransferEncoding)
	}
}

func TestLooksLikeSniffers(t *testing.T) {
	greetings := []struct {
		in   string
		want bool
	}{
		{"220 mx ESMTP", true}, {"220-mx", true}, {"220", false}, {"2200 x", false}, {"554 go away", false}, {"", false},
	}
	for _, g := range greetings {
		if got := LooksLikeGreeting([]byte(g.in)); got != g.want {
			t.Errorf("LooksLikeGreeting(%q) = %v", g.in, got)
		}
	}
	starts := []struct {
		in   string
		want bool
	}{
		{"EHLO x\r\n", true}, {"helo x", true}, {"EHLO\r\n", true}, {"EHLO\n", false}, {"EHLOX", false}, {"MAIL FROM:<>", false}, {"EHL", false},
	}
	for _, s := range starts {
		if got := LooksLikeClientStart([]byte(s.in)); got != s.want {
			t.Errorf("LooksLikeClientStart(%q) = %v", s.in, got)
		}
	}
	records := []struct {
		in                string
		handshake, either bool // want with handshake true, false
	}{
		{"\x16\x03\x01\x02\x00", true, true}, {"\x16", true, true}, {"\x15\x03\x03\x00\x02\x02\x0a", false, true},
		{"\x15", false, true}, {"\x16\x04", false, false}, {"\x17\x03\x03", false, false}, {"220 mx", false, false}, {"", false, false},
	}
	for _, r := range records {
		if got := LooksLikeTLSRecord([]byte(r.in), true); got != r.handshake {
			t.Errorf("LooksLikeTLSRecord(%q, true) = %v", r.in, got)
		}
		if got := LooksLikeTLSRecord([]byte(r.in), false); got != r.either {
			t.Errorf("LooksLikeTLSRecord(%q, false) = %v", r.in, got)
		}
	}
}

func TestStringers(t *testing.T) {
	if ClientToServer.String() != "client" || ServerToClient.String() != "server" || Direction(7).String() != "direction(7)" {
		t.Error("Direction.String")
	}
	for e, w := range map[LineEnding]string{LineEndingCRLF: "CRLF", LineEndingLF: "LF", LineEndingCR: "CR", LineEndingNone: "none"} {
		if e.String() != w {
			t.Errorf("%d.String() = %q", e, e.String())
		}
	}
}

func TestWritesOutOfLineAreAligned(t *testing.T) {
	p := NewParser(Options{})
	p.Write(ServerToClient, 0, []byte("220 mx\r\n"), 1, baseTime)
	p.Write(ClientToServer, 0, []byte("NOOP\r\n"), 2, baseTime)
	p.Write(ClientToServer, 4, []byte("\r\nQUIT\r\n"), 3, baseTime) // overlaps "\r\n"
	p.Write(ClientToServer, 20, []byte("RSET\r\n"), 4, baseTime)    // jumps over 10 bytes
	p.Write(Direction(9), 0, []byte("x"), 5, baseTime)
	p.Gap(ClientToServer, 0, 3, 6, baseTime) // already delivered
	d := p.Close()
	if got := verbs(d); !slices.Equal(got, []string{"NOOP", "QUIT", "RSET"}) {
		t.Errorf("verbs = %q", got)
	}
	if !slices.Equal(d.Gaps, []Span{span(ClientToServer, 12, 20)}) {
		t.Errorf("gaps = %v", d.Gaps)
	}
	if p.Close() != d {
		t.Error("second Close returned another dialogue")
	}
}

func TestOneSidedFloodStaysBounded(t *testing.T) {
	p := NewParser(Options{MaxElements: 100})
	line := []byte(strings.Repeat("\n", 1000))
	for i := 0; i < 200; i++ {
		p.Write(ClientToServer, int64(i*len(line)), line, int64(i), baseTime)
	}
	if p.fifoLen() > 100 || cap(p.fifo) > 1024 {
		t.Errorf("FIFO holds %d, capacity %d", p.fifoLen(), cap(p.fifo))
	}
	d := p.Close()
	if len(d.Commands) != 100 || d.Dropped != 200*1000-100 {
		t.Errorf("commands %d dropped %d", len(d.Commands), d.Dropped)
	}
}

// Plaintext commands pipelined behind STARTTLS (CVE-2011-0411) stay visible:
// they were sent before the switch.
func TestSTARTTLSInjectionIsVisible(t *testing.T) {
	d := run(t, Options{},
		srv("220 mx\r\n"),
		cli("STARTTLS\r\nRSET\r\n"),
		srv("220 2.0.0 Ready to start TLS\r\n"),
		cli("\x16\x03\x01\x00\x02hi"),
	)
	if got := verbs(d); !slices.Equal(got, []string{"STARTTLS", "RSET"}) {
		t.Fatalf("verbs = %q", got)
	}
	if r := d.Commands[1]; !r.Pipelined || r.Reply != nil {
		t.Errorf("RSET = %+v", r)
	}
	if d.TLS == nil || d.TLS.ClientBytes != 7 || !d.TLS.LooksLikeTLS {
		t.Errorf("tls = %+v", d.TLS)
	}
}

func TestClientOnlyAuthGuessesContinuations(t *testing.T) {
	d := run(t, Options{},
		cli("EHLO c\r\nAUTH LOGIN\r\n"),
		cli("YWxpY2U=\r\n"),
		cli("c2VjcmV0\r\n"),
		cli("MAIL FROM:<alice@example.com>\r\n"),
	)
	want := []struct {
		verb      string
		sensitive bool
	}{{"EHLO", false}, {"AUTH", false}, {"", true}, {"", true}, {"MAIL", false}}
	if len(d.Commands) != len(want) || !d.HeldAssumed {
		t.Fatalf("verbs = %q held assumed %v", verbs(d), d.HeldAssumed)
	}
	for i, w := range want {
		if c := d.Commands[i]; c.Verb != w.verb || c.Sensitive != w.sensitive {
			t.Errorf("command %d = %q sensitive %v, want %+v", i, c.Verb, c.Sensitive, w)
		}
	}
	if !hasProblem(d.Commands[1].Problems, problemAssumedAuth) {
		t.Errorf("AUTH problems %q", d.Commands[1].Problems)
	}
}

// TestGapsAreAlignedLikeWrites: a gap that overlaps bytes already
// delivered keeps only its new part, and a hole before a gap joins it.
func TestGapsAreAlignedLikeWrites(t *testing.T) {
	p := NewParser(Options{})
	p.Write(ServerToClient, 0, []byte("220 mx\r\n"), 1, baseTime)
	p.Write(ClientToServer, 0, []byte("NOOP\r\n"), 2, baseTime)
	p.Gap(ClientToServer, 4, 6, 3, baseTime)  // "\r\n" delivered: the gap is [6,10)
	p.Gap(ClientToServer, 14, 2, 4, baseTime) // the hole [10,14) joins: [10,16)
	p.Gap(ClientToServer, 12, 4, 5, baseTime) // all delivered (as gap): nothing
	p.Write(ClientToServer, 16, []byte("\r\nQUIT\r\n"), 6, baseTime)
	d := p.Close()
	if want := []Span{span(ClientToServer, 6, 10), span(ClientToServer, 10, 16)}; !slices.Equal(d.Gaps, want) {
		t.Errorf("gaps = %v, want %v", d.Gaps, want)
	}
	if got := verbs(d); !slices.Equal(got, []string{"NOOP", "QUIT"}) {
		t.Errorf("verbs = %q", got)
	}
}

// A verb the server advertised in its EHLO reply is an extension the
// client may use, not an unknown verb; one it did not advertise is.
func TestAdvertisedVerbIsKnown(t *testing.T) {
	events := []event{
		srv("220 mx ESMTP Sendmail\r\n"),
		cli("EHLO c\r\n"),
		srv("250-mx\r\n250-VERB\r\n250-XEXCH50\r\n250 HELP\r\n"),
		cli("VERB\r\n"),
		srv("250 2.0.0 Verbose mode\r\n"),
		cli("XEXCH50 12 2\r\n"),
		srv("354 Send binary data\r\n"),
		cli("ONEX\r\n"),
		srv("500 5.5.1 Command unrecognized\r\n"),
	}
	d := run(t, Options{}, events...)
	for i, want := range []bool{true, true, true, false} {
		c := d.Commands[i]
		if c.Known != want || hasProblem(c.Problems, problemUnknownVerb) == want {
			t.Errorf("%s: known %v, problems %q", c.Verb, c.Known, c.Problems)
		}
	}
}

// LMTP (RFC 2033): after the end of data the server answers once for
// each recipient it accepted, in RCPT order; none of those replies is a
// stray, and the next command's reply still finds its command.
func TestLMTPHasAReplyPerAcceptedRecipient(t *testing.T) {
	events := []event{
		srv("220 mx Dovecot ready.\r\n"),
		cli("LHLO c\r\n"),
		srv("250-mx\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 PIPELINING\r\n"),
		cli("MAIL FROM:<a@b>\r\nRCPT TO:<alice@x>\r\nRCPT TO:<nobody@x>\r\nRCPT TO:<carol@x>\r\nDATA\r\n"),
		srv("250 2.1.0 OK\r\n250 2.1.5 OK\r\n550 5.1.1 <nobody@x> User doesn't exist\r\n250 2.1.5 OK\r\n354 OK\r\n"),
		cli("Subject: x\r\n\r\nhi\r\n.\r\n"),
		srv("250 2.0.0 <alice@x> Saved\r\n", 0),
		srv("552 5.2.2 <carol@x> Quota exceeded\r\n"),
		cli("QUIT\r\n"),
		srv("221 2.0.0 Bye\r\n"),
	}
	d := run(t, Options{}, events...)
	if !d.LMTP() || d.Hello == nil || d.Hello.Verb != "LHLO" || !d.Extensions.Has("PIPELINING") {
		t.Fatalf("LMTP %v hello %+v extensions %v", d.LMTP(), d.Hello, d.Extensions.Keywords)
	}
	tx := d.Transactions[0]
	if len(tx.PerRecipient) != 2 || tx.FinalReply != tx.PerRecipient[0] {
		t.Fatalf("per recipient %+v, final %+v", tx.PerRecipient, tx.FinalReply)
	}
	for i, code := range []int{250, 552} {
		if r := tx.PerRecipient[i]; r.Code != code || !r.Final || r.Command != tx.Data {
			t.Errorf("recipient reply %d: %+v", i, r)
		}
	}
	quit := d.Commands[len(d.Commands)-1]
	if quit.Verb != "QUIT" || quit.Reply == nil || quit.Reply.Code != 221 {
		t.Errorf("QUIT's reply: %+v", quit.Reply)
	}
}

// lmtpEnvelope is an LMTP session up to the 354: two recipients accepted.
func lmtpEnvelope() []event {
	return []event{
		srv("220 mx LMTP\r\n"),
		cli("LHLO c\r\n"),
		srv("250-mx\r\n250 PIPELINING\r\n"),
		cli("MAIL FROM:<a@b>\r\nRCPT TO:<alice@x>\r\nRCPT TO:<carol@x>\r\nDATA\r\n"),
		srv("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
	}
}

// A server gap that cuts an LMTP recipient's reply, the first or a later
// one, leaves the count of replies still to come unknown: the reply after
// the gap goes to the next command, not to a recipient.
func TestLMTPGapInPerRecipientRepliesKeepsQuitsReply(t *testing.T) {
	for name, replies := range map[string][]event{
		"second cut": {srv("250 2.0.0 <alice@x> Saved\r\n452 4.2.2 <carol@x> Quo"), srvGap(10), srv("221 Bye\r\n")},
		"first cut":  {srv("250 2.0.0 <alice@x> Sa"), srvGap(40), srv("221 Bye\r\n")},
	} {
		t.Run(name, func(t *testing.T) {
			d := run(t, Options{}, append(append(lmtpEnvelope(), cli("hi\r\n.\r\nQUIT\r\n")), replies...)...)
			quit := d.Commands[len(d.Commands)-1]
			if quit.Verb != "QUIT" || quit.Reply == nil || quit.Reply.Code != 221 {
				t.Errorf("QUIT's reply = %+v, want the 221", quit.Reply)
			}
		})
	}
}

// LMTP counts the recipients the server accepted even past
// Options.MaxElements, where RCPT commands are no longer stored: the third
// recipient's reply is still a final reply, not QUIT's.
func TestLMTPCountsRecipientsPastTheElementLimit(t *testing.T) {
	d := run(t, Options{MaxElements: 4},
		srv("220 mx LMTP\r\n"),
		cli("LHLO c\r\n"), srv("250-mx\r\n250 PIPELINING\r\n"),
		cli("MAIL FROM:<a@b>\r\n"), srv("250 ok\r\n"),
		cli("RCPT TO:<r1@x>\r\n"), srv("250 ok\r\n"),
		cli("RCPT TO:<r2@x>\r\n"), srv("250 ok\r\n"),
		cli("RCPT TO:<r3@x>\r\n"), srv("250 ok\r\n"),
		cli("DATA\r\n"), srv("354 go\r\n"),
		cli("hi\r\n.\r\nQUIT\r\n"),
		srv("250 r1\r\n250 r2\r\n450 r3\r\n"),
		srv("221 Bye\r\n"))
	for _, r := range d.Replies {
		if r.Code == 450 && !r.Final {
			t.Errorf("the third recipient's 450 is not a final reply: it answers %+v", r.Command)
		}
	}
	if n := len(d.Transactions[0].PerRecipient); n > 4 {
		t.Errorf("%d per-recipient replies kept past the limit", n)
	}
}

// Sendmail's 421 for a bare LF after bytes of the message were lost in a
// capture gap still interrupts the message: the rest the client sends,
// terminator included, is that message's content, not a second one.
func TestInterruptAfterAClientGap(t *testing.T) {
	d := run(t, Options{},
		srv("220 mx ESMTP Sendmail\r\n"),
		cli("EHLO c\r\n"), srv("250-mx\r\n250 PIPELINING\r\n"),
		cli("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"), srv("250 ok\r\n250 ok\r\n354 go ahead\r\n"),
		cli("Subject: x\r\n\r\nfirst\r\n"), cliGap(20), cli("bare\nsecond\r\n"),
		srv("421 4.5.0 Bare linefeed (LF) not allowed\r\n"),
		cli("third line\r\n.\r\n"))
	if len(d.Transactions) != 1 {
		t.Fatalf("%d transactions, want 1", len(d.Transactions))
	}
	if tx := d.Transactions[0]; tx.Interrupt == nil || tx.FinalReply != nil {
		t.Errorf("interrupt %+v final %+v", tx.Interrupt, tx.FinalReply)
	}
}

// After a refusal in the middle of the content the server does not answer
// the client's later end of data: a server that stays (552, not 421)
// answers the next command, and its 221 to QUIT is no verdict on the
// message.
func TestNoFinalReplyAfterAnInterrupt(t *testing.T) {
	d := run(t, Options{},
		srv("220 mx\r\n"),
		cli("EHLO c\r\n"), srv("250-mx\r\n250 PIPELINING\r\n"),
		cli("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"), srv("250 ok\r\n250 ok\r\n354 go\r\n"),
		cli("Subject: x\r\n\r\nbig\r\n"),
		srv("552 5.3.4 Message too big\r\n"),
		cli("more\r\n.\r\nQUIT\r\n"),
		srv("221 bye\r\n"))
	tx := d.Transactions[0]
	quit := d.Commands[len(d.Commands)-1]
	if tx.Interrupt == nil || tx.Interrupt.Code != 552 || tx.FinalReply != nil {
		t.Errorf("interrupt %+v final %+v", tx.Interrupt, tx.FinalReply)
	}
	if quit.Verb != "QUIT" || quit.Reply == nil || quit.Reply.Code != 221 {
		t.Errorf("QUIT's reply %+v", quit.Reply)
	}
}

// An SMTP server that refuses LHLO does not make the session LMTP: a
// client that goes on regardless gets one final reply per message.
func TestRefusedLHLOIsNotLMTP(t *testing.T) {
	d := run(t, Options{},
		srv("220 mx ESMTP\r\n"),
		cli("LHLO c\r\n"), srv("500 5.5.1 unrecognized command\r\n"),
		cli("MAIL FROM:<a@b>\r\n"), srv("250 ok\r\n"),
		cli("RCPT TO:<x@y>\r\n"), srv("250 ok\r\n"),
		cli("RCPT TO:<z@y>\r\n"), srv("250 ok\r\n"),
		cli("DATA\r\n"), srv("354 go\r\n"),
		cli("hi\r\n.\r\nQUIT\r\n"), srv("250 queued\r\n221 bye\r\n"))
	quit := d.Commands[len(d.Commands)-1]
	if d.LMTP() || len(d.Transactions[0].PerRecipient) != 0 || quit.Reply == nil || quit.Reply.Code != 221 {
		t.Errorf("LMTP %v, per recipient %d, QUIT's reply %+v", d.LMTP(), len(d.Transactions[0].PerRecipient), quit.Reply)
	}
}

// An LMTP BDAT LAST with no accepted recipient gets one reply, the
// command's own; no per-recipient replies are waited for.
func TestLMTPWithoutRecipientsWaitsForNoRecipientReplies(t *testing.T) {
	d := run(t, Options{},
		srv("220 mx LMTP\r\n"),
		cli("LHLO c\r\n"), srv("250-mx\r\n250-CHUNKING\r\n250 PIPELINING\r\n"),
		cli("MAIL FROM:<a@b>\r\nRCPT TO:<nobody@y>\r\n"), srv("250 ok\r\n550 5.1.1 no such user\r\n"),
		cli("BDAT 4 LAST\r\nhi\r\nQUIT\r\n"), srv("554 5.5.1 no valid recipients\r\n221 bye\r\n"))
	quit := d.Commands[len(d.Commands)-1]
	if !d.LMTP() || len(d.Transactions[0].PerRecipient) != 0 || quit.Reply == nil || quit.Reply.Code != 221 {
		t.Errorf("LMTP %v, per recipient %d, QUIT's reply %+v", d.LMTP(), len(d.Transactions[0].PerRecipient), quit.Reply)
	}
}

// A refusal right after a non-standard end of data does not prove the
// server ended the message there: a server that refuses bare LFs says the
// same. Only a 2xx does (TestSmugglingBareLFDotFollowedByCommands); a 5xx
// interrupts the message.
func TestRefusalAfterALenientSequenceInterrupts(t *testing.T) {
	d := run(t, Options{},
		srv("220 mx\r\n"),
		cli("EHLO c\r\n"), srv("250-mx\r\n250 PIPELINING\r\n"),
		cli("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"), srv("250 ok\r\n250 ok\r\n354 go\r\n"),
		cli("Subject: x\r\n\r\n%%EOF\n.\r\n"),
		srv("550 5.5.2 Error: bare <LF> received\r\n"),
		cli("\r\n.\r\nQUIT\r\n"), srv("221 bye\r\n"))
	tx := d.Transactions[0]
	if tx.Interrupt == nil || tx.Interrupt.Code != 550 || tx.FinalReply != nil || tx.Body.EndedLenient {
		t.Errorf("interrupt %+v final %+v ended lenient %v", tx.Interrupt, tx.FinalReply, tx.Body.EndedLenient)
	}
	if quit := d.Commands[len(d.Commands)-1]; quit.Verb != "QUIT" || quit.Reply == nil || quit.Reply.Code != 221 {
		t.Errorf("QUIT's reply %+v", quit.Reply)
	}
}

// A client that stops at a non-standard end of data and waits for a reply
// (ClientWait or longer) took it for the end of its message: what it sends
// after the silence is not what followed the sequence. Sent together, the
// same bytes are.
func TestClientWaitingAfterALenientSequence(t *testing.T) {
	prefix := []event{
		srv("220 mx\r\n"),
		cli("EHLO c\r\n"), srv("250-mx\r\n250 PIPELINING\r\n"),
		cli("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"), srv("250 ok\r\n250 ok\r\n354 go\r\n"),
	}
	// run's events are a second apart: two empty server events make the
	// client's silence three seconds.
	waited := run(t, Options{}, append(prefix, cli("x\r\n%%EOF\n.\r\n"), srv(""), srv(""), cli("QUIT\r\n"))...)
	e := waited.Transactions[0].Body.Lenient[0]
	if !e.ClientWaited || e.CommandsAfter || len(e.After) != 0 {
		t.Errorf("after a wait: waited %v, commands after %v, after %q", e.ClientWaited, e.CommandsAfter, e.After)
	}
	together := run(t, Options{}, append(prefix, cli("x\r\n%%EOF\n.\r\nQUIT\r\n"))...)
	e = together.Transactions[0].Body.Lenient[0]
	if e.ClientWaited || !e.CommandsAfter {
		t.Errorf("in one write: waited %v, commands after %v, after %q", e.ClientWaited, e.CommandsAfter, e.After)
	}
}

// A client that ends its message with a CR-only "\r.\r" and then waits
// three seconds: like "\n.\r\n", the sequence ended its write and it
// waited, so ClientWaited is set and QUIT kept out of After, although
// the sequence is only known when the next write shows its last byte.
func TestClientWaitedAfterCROnlySequences(t *testing.T) {
	prefix := []event{
		srv("220 mx\r\n"),
		cli("EHLO c\r\n"), srv("250-mx\r\n250 PIPELINING\r\n"),
		cli("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"), srv("250 ok\r\n250 ok\r\n354 go\r\n"),
	}
	for _, end := range []string{"\r.\r", "\n.\r"} {
		d := run(t, Options{}, append(prefix, cli("x\r\n%%EOF"+end), srv(""), srv(""), cli("QUIT\r\n"))...)
		l := d.Transactions[0].Body.Lenient
		if len(l) == 0 {
			t.Errorf("%q: no lenient sequence", end)
			continue
		}
		e := l[len(l)-1]
		if !e.ClientWaited || len(e.After) != 0 {
			t.Errorf("%q: seq %q waited %v, commands after %v, after %q", end, e.Seq, e.ClientWaited, e.CommandsAfter, e.After)
		}
	}
}

// A client held after a pipelined DATA that nobody answers gives up and
// sends QUIT; the 221 answers that QUIT, not the MAIL, and the QUIT is a
// command, not message content (the hold513 case: a middlebox kept the
// envelope from the server).
func TestQuitAfterUnansweredDataGetsThe221(t *testing.T) {
	d := run(t, Options{},
		srv("220 mx ESMTP\r\n"),
		cli("EHLO c\r\n"), srv("250-mx\r\n250 PIPELINING\r\n"),
		cli("MAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nDATA\r\n"),
		cli("QUIT\r\n"),
		srv("221 mx closing connection\r\n"))
	var got []string
	for _, c := range d.Commands {
		reply := "-"
		if c.Reply != nil {
			reply = strconv.Itoa(c.Reply.Code)
		}
		got = append(got, c.Verb+":"+reply)
	}
	if want := "EHLO:250 MAIL:- RCPT:- DATA:- QUIT:221"; strings.Join(got, " ") != want {
		t.Errorf("commands %q, want %q", strings.Join(got, " "), want)
	}
	if tx := d.Transactions[0]; tx.Body != nil || tx.FinalReply != nil {
		t.Errorf("transaction body %+v, final reply %+v; want neither", tx.Body, tx.FinalReply)
	}
}

// Only a QUIT the client sent before the 221 counts; other held bytes, or
// a QUIT sent after it, leave the 221 to the oldest waiting command.
func TestA221WithoutAHeldQuitAnswersTheOldestCommand(t *testing.T) {
	cases := map[string][]event{
		"held bytes are not QUIT": {
			srv("220 mx ESMTP\r\n"),
			cli("EHLO c\r\n"), srv("250-mx\r\n250 PIPELINING\r\n"),
			cli("MAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nDATA\r\n"),
			cli("QUITE\r\n"),
			srv("221 mx closing connection\r\n")},
		"QUIT sent after the 221": {
			srv("220 mx ESMTP\r\n"),
			cli("EHLO c\r\n"), srv("250-mx\r\n250 PIPELINING\r\n"),
			cli("MAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nDATA\r\n"),
			srv("221 mx closing connection\r\n"),
			cli("QUIT\r\n")},
	}
	for name, events := range cases {
		t.Run(name, func(t *testing.T) {
			d := run(t, Options{}, events...)
			mail := d.Commands[1]
			if mail.Verb != "MAIL" || mail.Reply == nil || mail.Reply.Code != 221 {
				t.Errorf("MAIL's reply %+v, want the 221", mail.Reply)
			}
		})
	}
}

// UTF-8 addresses are allowed in a transaction whose MAIL carries SMTPUTF8
// to a server that offered it (RFC 6531); to a server that offered it,
// without the parameter, the parameter is what is missing; with the
// parameter to a server that did not, the MAIL says so; otherwise they are
// non-ASCII bytes.
func TestUTF8AddressesUnderSMTPUTF8(t *testing.T) {
	session := func(ehlo, mailParams string) *Dialogue {
		return run(t, Options{},
			srv("220 mx ESMTP\r\n"),
			cli("EHLO c\r\n"), srv(ehlo),
			cli("MAIL FROM:<señor@example.org>"+mailParams+"\r\n"), srv("250 ok\r\n"),
			cli("RCPT TO:<bøb@example.net>\r\n"), srv("250 ok\r\n"),
			cli("QUIT\r\n"), srv("221 bye\r\n"))
	}
	cases := []struct {
		name, ehlo, params string
		want, wantRcpt     string // the problem on MAIL, and on RCPT if another; "" for none
	}{
		{"offered and used", "250-mx\r\n250 SMTPUTF8\r\n", " SMTPUTF8", "", ""},
		{"offered, not used", "250-mx\r\n250 SMTPUTF8\r\n", "", problemUTF8NoParam, ""},
		{"used, not offered", "250-mx\r\n250 8BITMIME\r\n", " SMTPUTF8", problemUTF8NotOffered, ProblemNonASCII},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := session(tc.ehlo, tc.params)
			for _, c := range d.Commands[1:3] {
				want := []string{}
				switch {
				case c.Verb == "RCPT" && tc.wantRcpt != "":
					want = []string{tc.wantRcpt}
				case tc.want != "":
					want = []string{tc.want}
				}
				if !slices.Equal(append([]string{}, c.Problems...), want) {
					t.Errorf("%s problems %q, want %q", c.Verb, c.Problems, want)
				}
			}
		})
	}
}

// Under SMTPUTF8 a server may answer in UTF-8 (real Exim: "550 5.1.1
// Empfänger unbekannt", testdata/pcaps/exim-sweep2/utf8-exim.pcap);
// outside such a transaction, or with bytes that are not UTF-8, the reply
// has non-ASCII bytes.
func TestUTF8RepliesUnderSMTPUTF8(t *testing.T) {
	cases := []struct {
		name, params, refusal string
		want                  []string
	}{
		{"SMTPUTF8, UTF-8", " SMTPUTF8", "550 Empfänger unbekannt\r\n", nil},
		{"no SMTPUTF8, UTF-8", "", "550 Empfänger unbekannt\r\n", []string{ProblemNonASCII}},
		{"SMTPUTF8, Latin-1", " SMTPUTF8", "550 Empf\xe4nger unbekannt\r\n", []string{ProblemNonASCII}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := run(t, Options{},
				srv("220 mx ESMTP\r\n"),
				cli("EHLO c\r\n"), srv("250-mx\r\n250 SMTPUTF8\r\n"),
				cli("MAIL FROM:<a@example.org>"+tc.params+"\r\n"), srv("250 ok\r\n"),
				cli("RCPT TO:<b@example.net>\r\n"), srv(tc.refusal),
				cli("QUIT\r\n"), srv("221 bye\r\n"))
			r := d.Commands[2].Reply
			if r == nil || r.Code != 550 || !slices.Equal(r.Problems, tc.want) {
				t.Errorf("reply %+v, want problems %q", r, tc.want)
			}
		})
	}
}

// A client that answers a challenge with "*" cancels the exchange (RFC
// 4954 section 4): its line is no credential, and the 501 answers it.
func TestAuthCancelIsNoCredential(t *testing.T) {
	d := run(t, Options{},
		srv("220 mx ESMTP\r\n"),
		cli("EHLO c\r\n"), srv("250-mx\r\n250 AUTH LOGIN\r\n"),
		cli("AUTH LOGIN\r\n"), srv("334 VXNlcm5hbWU6\r\n"),
		cli("*\r\n"), srv("501 Authentication cancelled\r\n"),
		cli("QUIT\r\n"), srv("221 bye\r\n"))
	c := d.Commands[2]
	if c.Verb != "" || !c.AuthCancel || c.Mechanism != "LOGIN" || c.Reply == nil || c.Reply.Code != 501 {
		t.Errorf("cancel = %+v", c)
	}
}

// Postfix's postscreen stops a multi-line greeting after its first line
// when the client talks first, then answers the early command: the
// greeting ends where the other code begins, and each later reply answers
// its own command.
func TestGreetingCutOffByTheEarlyCommandsReply(t *testing.T) {
	d := run(t, Options{},
		cli("EHLO early\r\n"),
		srv("220-mx ESMTP Postfix\r\n"),
		srv("250-mx\r\n250 8BITMIME\r\n"),
		cli("MAIL FROM:<a@b>\r\n"), srv("250 2.1.0 Ok\r\n"),
		cli("RCPT TO:<c@d>\r\n"), srv("550 5.5.1 Protocol error\r\n"),
		cli("QUIT\r\n"), srv("221 2.0.0 Bye\r\n"))
	if g := d.Greeting; g == nil || g.Code != 220 || !slices.Equal(g.Lines, []string{"mx ESMTP Postfix"}) || !hasProblem(g.Problems, ProblemGreetingCut) {
		t.Fatalf("greeting %+v", g)
	}
	want := map[string]int{"EHLO": 250, "MAIL": 250, "RCPT": 550, "QUIT": 221}
	for _, c := range d.Commands {
		if c.Reply == nil || c.Reply.Code != want[c.Verb] {
			t.Errorf("%s answered by %+v, want %d", c.Verb, c.Reply, want[c.Verb])
		}
	}
	if !d.Extensions.Has("8BITMIME") {
		t.Errorf("extensions %v: the EHLO reply was not taken as one", d.Extensions)
	}
}

// A server whose codes run past three digits ("25000 ok") is malformed,
// but each of its replies still answers its command: no later pairing
// shifts, and the message ends at its own 250.
func TestOverlongReplyCodesStillAnswer(t *testing.T) {
	d := run(t, Options{},
		srv("22000 mx ESMTP\r\n"),
		cli("EHLO c\r\n"), srv("25000-mx\r\n25000 PIPELINING\r\n"),
		cli("MAIL FROM:<a@b>\r\n"), srv("25000 ok\r\n"),
		cli("RCPT TO:<c@d>\r\n"), srv("25000 ok\r\n"),
		cli("DATA\r\n"), srv("35400 go ahead\r\n"),
		cli("hi\r\n.\r\n"), srv("25000 queued\r\n"),
		cli("QUIT\r\n"), srv("22100 bye\r\n"))
	if g := d.Greeting; g == nil || g.Code != 220 || !hasProblem(g.Problems, problemLongCode) {
		t.Errorf("greeting %+v", g)
	}
	want := map[string]int{"EHLO": 250, "MAIL": 250, "RCPT": 250, "DATA": 354, "QUIT": 221}
	for _, c := range d.Commands {
		if c.Reply == nil || c.Reply.Code != want[c.Verb] {
			t.Errorf("%s answered by %+v, want %d", c.Verb, c.Reply, want[c.Verb])
		}
	}
	if tx := d.Transactions[0]; tx.FinalReply == nil || tx.FinalReply.Code != 250 || !d.Extensions.Has("PIPELINING") {
		t.Errorf("final reply %+v, extensions %v", tx.FinalReply, d.Extensions)
	}
}

// The same give-up after the previous message's end of data was pipelined
// with the next envelope (RFC 2920 lets content start a group): the 221
// answers the QUIT; neither message gets it as a final reply.
func TestQuitAfterPipelinedEndOfDataGetsThe221(t *testing.T) {
	d := run(t, Options{},
		srv("220 mx ESMTP\r\n"),
		cli("EHLO c\r\n"), srv("250-mx\r\n250 PIPELINING\r\n"),
		cli("MAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nDATA\r\n"),
		srv("250 ok\r\n250 ok\r\n354 go\r\n"),
		cli("hi\r\n.\r\nMAIL FROM:<c@d>\r\nRCPT TO:<x@y>\r\nDATA\r\n"),
		cli("QUIT\r\n"),
		srv("221 mx closing connection\r\n"))
	last := d.Commands[len(d.Commands)-1]
	if last.Verb != "QUIT" || last.Reply == nil || last.Reply.Code != 221 {
		t.Errorf("last command %s answered by %+v, want QUIT with 221", last.Verb, last.Reply)
	}
	for i, tx := range d.Transactions {
		if tx.FinalReply != nil {
			t.Errorf("transaction %d final reply %d", i, tx.FinalReply.Code)
		}
	}
}

// A multi-line banner that turns to another code with no command waiting
// (postscreen dropping a client on a block list: 220- then 521) is one
// greeting with the later code: the server refused the session.
func TestGreetingTurningToARefusalWithNobodyAsking(t *testing.T) {
	d := run(t, Options{},
		srv("220-mx ESMTP\r\n"),
		srv("521 5.7.1 blocked\r\n"))
	g := d.Greeting
	if g == nil || g.Code != 521 || len(d.Replies) != 1 || hasProblem(g.Problems, ProblemGreetingCut) {
		t.Errorf("greeting %+v, %d replies", g, len(d.Replies))
	}
}

// Inside a multi-line reply, a line that starts with four digits is a
// malformed line of that reply, not a new reply with code 202.
func TestFourDigitLineInsideABannerIsPartOfIt(t *testing.T) {
	d := run(t, Options{},
		cli("EHLO early\r\n"),
		srv("220-mx ESMTP\r\n2023 copyright\r\n220 ready\r\n"),
		srv("250 mx\r\n"))
	g := d.Greeting
	if g == nil || g.Code != 220 || len(g.Lines) != 3 || d.Commands[0].Reply == nil || d.Commands[0].Reply.Code != 250 {
		t.Errorf("greeting %+v; EHLO answered by %+v", g, d.Commands[0].Reply)
	}
}

// TestBDATSizeProblemsAreNamedExactly: LAST after a bad size is no junk,
// and a size of twenty digits is a number, too large, not "not a number".
func TestBDATSizeProblemsAreNamedExactly(t *testing.T) {
	cases := []struct {
		args string
		want []string
	}{
		{"abc LAST", []string{problemBDATSize}},
		{"18446744073709551615 LAST", []string{problemBDATHuge}},
		{"10 LAST now", []string{problemBDATJunk}},
		{"10 LAST", nil},
	}
	for _, tc := range cases {
		c := &Command{Args: tc.args}
		parseBDAT(c)
		if fmt.Sprint(c.Problems) != fmt.Sprint(tc.want) {
			t.Errorf("BDAT %s: problems %q, want %q", tc.args, c.Problems, tc.want)
		}
	}
}

// tlsRecord frames a TLS record of the given content type.
func tlsRecord(typ byte, version uint16, body string) string {
	return string([]byte{typ, byte(version >> 8), byte(version), byte(len(body) >> 8), byte(len(body))}) + body
}

// handshakeMessage frames a handshake message of the given type.
func handshakeMessage(typ byte, body string) string {
	n := len(body)
	return string([]byte{typ, byte(n >> 16), byte(n >> 8), byte(n)}) + body
}

// After STARTTLS the cleartext records are read whatever the pieces the
// bytes come in: the hellos' versions (supported_versions over the legacy
// field, GREASE skipped), ChangeCipherSpec, application-data records, an
// alert in the clear; an encrypted alert is no alert.
func TestTLSRecordsAfterSTARTTLS(t *testing.T) {
	random := strings.Repeat("r", 32)
	clientHello := tlsRecord(22, 0x0301, handshakeMessage(1, "\x03\x03"+random+"\x00"+"\x00\x02\x13\x01"+"\x01\x00"+
		"\x00\x0b"+"\x00\x2b\x00\x07\x06\x0a\x0a\x03\x04\x03\x03"))
	serverHello := tlsRecord(22, 0x0303, handshakeMessage(2, "\x03\x03"+random+"\x00"+"\x13\x02"+"\x00"+
		"\x00\x06"+"\x00\x2b\x00\x02\x03\x04"))
	encryptedAlert := tlsRecord(21, 0x0303, strings.Repeat("e", 19))
	alert := tlsRecord(21, 0x0303, "\x02\x30")
	events := []event{
		srv("220 mx ESMTP\r\n"),
		cli("EHLO c\r\n"),
		srv("250-mx\r\n250 STARTTLS\r\n"),
		cli("STARTTLS\r\n"),
		srv("220 go ahead\r\n"),
		cli(clientHello),
		srv(serverHello + tlsRecord(20, 0x0303, "\x01") + tlsRecord(23, 0x0303, "12345") + encryptedAlert),
		cli(alert),
	}
	for _, n := range []int{1, 3, 1448} {
		d := feed(Options{}, events, everyN(n))
		c, s := d.TLS.Client, d.TLS.Server
		start := int64(len("EHLO c\r\nSTARTTLS\r\n"))
		if c.Hello == nil || c.Hello.Version != 0x0304 || !slices.Equal(c.Hello.Versions, []uint16{0x0304, 0x0303}) || c.Hello.Span != span(ClientToServer, start, start+int64(len(clientHello))) {
			t.Errorf("pieces of %d: client hello %+v", n, c.Hello)
		}
		if s.Hello == nil || s.Hello.Version != 0x0304 || s.Hello.Cipher != 0x1302 {
			t.Errorf("pieces of %d: server hello %+v", n, s.Hello)
		}
		at := start + int64(len(clientHello))
		if c.Alert == nil || c.Alert.Level != 2 || c.Alert.Description != 48 || c.Alert.Span != span(ClientToServer, at, at+7) || c.Alert.String() != "fatal unknown_ca (48)" {
			t.Errorf("pieces of %d: client alert %+v", n, c.Alert)
		}
		if s.Alert != nil || !s.ChangeCipherSpec || s.ApplicationData != 1 || s.Records != 4 || c.Records != 2 || c.NotTLS || s.NotTLS {
			t.Errorf("pieces of %d: server %+v, client %+v", n, s, c)
		}
		if d.TLS.Completed() {
			t.Errorf("pieces of %d: a TLS 1.3 handshake whose client sent no encrypted record is complete", n)
		}
	}
}

// Bytes after STARTTLS that are no TLS records (a client that did not
// switch) stop the reading; a gap does too.
func TestTLSReadingStopsAtWhatIsNotTLS(t *testing.T) {
	d := run(t, Options{},
		srv("220 mx\r\n"), cli("EHLO c\r\n"), srv("250-mx\r\n250 STARTTLS\r\n"),
		cli("STARTTLS\r\n"), srv("220 go ahead\r\n"),
		cli("EHLO c\r\n"), srvGap(10), srv(tlsRecord(21, 0x0303, "\x02\x28")))
	if c, s := d.TLS.Client, d.TLS.Server; !c.NotTLS || c.Records != 0 || !s.Lost || s.Alert != nil {
		t.Errorf("client %+v, server %+v", c, s)
	}
}

// A warning alert in the clear (a server's unrecognized_name next to its
// ServerHello) does not hide a fatal alert the same side sends later.
func TestTLSFatalAlertAfterAWarning(t *testing.T) {
	warning, fatal := tlsRecord(21, 0x0303, "\x01\x70"), tlsRecord(21, 0x0303, "\x02\x28")
	d := run(t, Options{},
		srv("220 mx\r\n"), cli("EHLO c\r\n"), srv("250-mx\r\n250 STARTTLS\r\n"),
		cli("STARTTLS\r\n"), srv("220 go ahead\r\n"),
		cli(tlsRecord(22, 0x0301, handshakeMessage(1, "\x03\x03"+strings.Repeat("r", 32)+"\x00\x00\x02\x13\x01\x01\x00"))),
		srv(warning+fatal))
	at := int64(len("220 mx\r\n250-mx\r\n250 STARTTLS\r\n220 go ahead\r\n")) + 7
	if a := d.TLS.Server.Alert; a == nil || a.String() != "fatal handshake_failure (40)" || a.Span != span(ServerToClient, at, at+7) {
		t.Errorf("server alert %+v, want the fatal handshake_failure at offset %d", a, at)
	}
}

// A ClientHello cut short (longer than what is kept of it, or split over
// two records) is not read as offering the legacy version only: its
// supported_versions extension may be in the part that is missing.
func TestTLSHelloCutShortSaysNothing(t *testing.T) {
	random := strings.Repeat("r", 32)
	exts := "\x00\x15\x10\x04" + strings.Repeat("\x00", 0x1004) + // padding (RFC 7685), 4100 bytes
		"\x00\x2b\x00\x03\x02\x03\x04" // supported_versions: TLS 1.3
	msg := handshakeMessage(1, "\x03\x03"+random+"\x00"+"\x00\x02\x13\x01"+"\x01\x00"+
		string([]byte{byte(len(exts) >> 8), byte(len(exts))})+exts)
	for name, records := range map[string]string{
		"one long record": tlsRecord(22, 0x0301, msg),
		"two records":     tlsRecord(22, 0x0301, msg[:100]) + tlsRecord(22, 0x0301, msg[100:]),
	} {
		d := run(t, Options{},
			srv("220 mx\r\n"), cli("EHLO c\r\n"), srv("250-mx\r\n250 STARTTLS\r\n"),
			cli("STARTTLS\r\n"), srv("220 go ahead\r\n"), cli(records))
		if h := d.TLS.Client.Hello; h != nil && h.Version != 0x0304 {
			t.Errorf("%s: client hello %+v, want TLS 1.3 or none", name, h)
		}
	}
}

// A HelloRetryRequest is no ServerHello: the one that counts comes after
// it, and after the ChangeCipherSpec TLS 1.3 sends for middleboxes.
func TestTLSHelloRetryRequestIsNotTheServerHello(t *testing.T) {
	hrr := tlsRecord(22, 0x0303, handshakeMessage(2, "\x03\x03"+helloRetryRandom+"\x00"+"\x13\x01"+"\x00"+"\x00\x06"+"\x00\x2b\x00\x02\x03\x04"))
	ccs := tlsRecord(20, 0x0303, "\x01")
	hello := tlsRecord(22, 0x0303, handshakeMessage(2, "\x03\x03"+strings.Repeat("s", 32)+"\x00"+"\x13\x02"+"\x00"+"\x00\x06"+"\x00\x2b\x00\x02\x03\x04"))
	d := run(t, Options{},
		srv("220 mx\r\n"), cli("EHLO c\r\n"), srv("250-mx\r\n250 STARTTLS\r\n"),
		cli("STARTTLS\r\n"), srv("220 go ahead\r\n"),
		srv(hrr+ccs), srv(hello))
	start := int64(len("220 mx\r\n250-mx\r\n250 STARTTLS\r\n220 go ahead\r\n") + len(hrr) + len(ccs))
	if h := d.TLS.Server.Hello; h == nil || h.Cipher != 0x1302 || h.Span != span(ServerToClient, start, start+int64(len(hello))) {
		t.Errorf("server hello %+v, want the one after the retry request, cipher 0x1302, at %d", h, start)
	}
}

// TestARefusedCommandLeavesTheTransactionOpen: a server refuses a nested
// MAIL (503) and an EHLO without a name (501) and changes nothing: the
// envelope it took stays open and the message that follows goes with it,
// the client keeps its first name and the extensions it was offered. A
// RCPT the client pipelined after the nested MAIL, before the refusal came,
// went to the transaction that MAIL began, and is left there; and a
// refused MAIL with no transaction open still begins one.
func TestARefusedCommandLeavesTheTransactionOpen(t *testing.T) {
	message := []event{
		srv("250 2.1.5 Ok\r\n"),
		cli("DATA\r\n"),
		srv("354 go\r\n"),
		cli("Subject: x\r\n\r\nhi\r\n.\r\n"),
		srv("250 queued\r\n"),
		cli("QUIT\r\n"),
		srv("221 bye\r\n"),
	}
	start := []event{
		srv("220 mx ESMTP\r\n"),
		cli("EHLO client.example.com\r\n"),
		srv("250-mx\r\n250-PIPELINING\r\n250 8BITMIME\r\n"),
		cli("MAIL FROM:<alice@example.com>\r\n"),
		srv("250 2.1.0 Ok\r\n"),
	}
	envelope := func(d *Dialogue) string {
		var out []string
		for _, tx := range d.Transactions {
			s := "?"
			if tx.Mail != nil {
				s = tx.Mail.Args
			}
			s += fmt.Sprintf(" rcpts %d", len(tx.Rcpts))
			if tx.FinalReply != nil {
				s += fmt.Sprintf(" final %d", tx.FinalReply.Code)
			}
			if tx.Reset != nil {
				s += " reset by " + tx.Reset.Verb
			}
			out = append(out, s)
		}
		return strings.Join(out, "; ")
	}
	for _, tc := range []struct {
		name   string
		middle []event
		want   string
		hello  string
	}{
		{"nested MAIL", []event{
			cli("MAIL FROM:<bob@example.com>\r\n"), srv("503 5.5.1 Error: nested MAIL command\r\n"),
			cli("RCPT TO:<carol@example.org>\r\n"),
		}, "FROM:<alice@example.com> rcpts 1 final 250", "client.example.com"},
		{"EHLO without a name", []event{
			cli("EHLO\r\n"), srv("501 Syntax: EHLO hostname\r\n"),
			cli("RCPT TO:<carol@example.org>\r\n"),
		}, "FROM:<alice@example.com> rcpts 1 final 250", "client.example.com"},
		{"RCPT pipelined after the nested MAIL", []event{
			cli("MAIL FROM:<bob@example.com>\r\nRCPT TO:<carol@example.org>\r\n"),
			srv("503 5.5.1 Error: nested MAIL command\r\n"),
		}, "FROM:<alice@example.com> rcpts 0 reset by MAIL; FROM:<bob@example.com> rcpts 1 final 250", "client.example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := run(t, Options{}, slices.Concat(start, tc.middle, message)...)
			if got := envelope(d); got != tc.want {
				t.Errorf("transactions %q, want %q", got, tc.want)
			}
			if d.Hello == nil || d.Hello.Args != tc.hello || !d.Extensions.Has("PIPELINING") {
				t.Errorf("hello %+v, extensions %+v", d.Hello, d.Extensions)
			}
		})
	}
	// No transaction open: the refused MAIL begins one, as before.
	d := run(t, Options{}, srv("220 mx ESMTP\r\n"), cli("EHLO client.example.com\r\n"), srv("250 mx\r\n"),
		cli("MAIL FROM:<a@example.com> SIZE=99999999\r\n"), srv("552 5.3.4 Message size exceeds fixed limit\r\n"),
		cli("QUIT\r\n"), srv("221 bye\r\n"))
	if got := envelope(d); got != "FROM:<a@example.com> SIZE=99999999 rcpts 0 reset by QUIT" {
		t.Errorf("transactions %q", got)
	}
}

// TestARefusedQUITOr421EndsTheTransaction: a QUIT is the client's last
// word whatever the server answers, and a 421 closes the session: the
// transaction they ended is not reopened (it would read as lost).
func TestARefusedQUITOr421EndsTheTransaction(t *testing.T) {
	for _, tc := range []struct{ cmd, reply string }{
		{"QUIT", "421 4.4.2 timeout"},
		{"QUIT", "500 5.5.1 unrecognized"},
		{"RSET", "421 4.3.2 shutting down"},
		{"MAIL FROM:<c@example.org>", "421 4.3.2 shutting down"},
		{"EHLO x.example.org", "421 4.3.2 shutting down"},
	} {
		d := run(t, Options{}, srv("220 mx ESMTP\r\n"), cli("EHLO client.example.com\r\n"), srv("250 mx\r\n"),
			cli("MAIL FROM:<a@example.com>\r\n"), srv("250 ok\r\n"), cli("RCPT TO:<b@example.com>\r\n"), srv("250 ok\r\n"),
			cli(tc.cmd+"\r\n"), srv(tc.reply+"\r\n"))
		if tx := d.Transactions[0]; tx.Reset == nil || tx.Reset.Reply == nil || tx.Reset.Reply.Code/100 < 4 {
			t.Errorf("%s answered %s: first transaction reset by %+v, want the refused command", tc.cmd, tc.reply, tx.Reset)
		}
	}
}

// helloRecord is a TLS 1.3 ClientHello record (supported_versions 1.2 and
// 1.3) whose random holds an LF, so a server in clear text reads it as two
// lines.
func helloRecord() string {
	random := strings.Repeat("\x11", 15) + "\n" + strings.Repeat("\x11", 16)
	body := "\x03\x03" + random + "\x00\x00\x02\x13\x01\x01\x00\x00\x09\x00\x2b\x00\x05\x04\x03\x04\x03\x03"
	handshake := "\x01\x00\x00" + string(rune(len(body))) + body
	return "\x16\x03\x01\x00" + string(rune(len(handshake))) + handshake
}

func TestTLSHelloAfterRefusedSTARTTLS(t *testing.T) {
	hello := helloRecord()
	for _, tc := range []struct {
		name   string
		events []event
		hello  int // index of the first command read from the hello; -1: none
	}{
		{"hello after the refusal", []event{
			srv("220 mx ESMTP\r\n"),
			cli("EHLO c\r\n"),
			srv("250-mx\r\n250 STARTTLS\r\n"),
			cli("STARTTLS\r\n"),
			srv("454 4.7.0 TLS not available due to local problem\r\n"),
			cli(hello),
			srv("500 5.5.2 Error: bad syntax\r\n"),
		}, 2},
		{"hello right behind STARTTLS, before the refusal came", []event{
			srv("220 mx ESMTP\r\n"),
			cli("EHLO c\r\n"),
			srv("250-mx\r\n250 STARTTLS\r\n"),
			cli("STARTTLS\r\n" + hello),
			srv("454 4.7.0 TLS not available\r\n500 5.5.2 Error: bad syntax\r\n"),
		}, 2},
		{"a RSET pipelined with STARTTLS, then the hello", []event{
			srv("220 mx ESMTP\r\n"),
			cli("EHLO c\r\n"),
			srv("250-mx\r\n250 STARTTLS\r\n"),
			cli("STARTTLS\r\nRSET\r\n"),
			srv("454 4.7.0 TLS not available\r\n250 2.0.0 Ok\r\n"),
			cli(hello),
			srv("500 5.5.2 Error: bad syntax\r\n"),
		}, 3},
		{"a client that took the refusal", []event{
			srv("220 mx ESMTP\r\n"),
			cli("EHLO c\r\n"),
			srv("250-mx\r\n250 STARTTLS\r\n"),
			cli("STARTTLS\r\n"),
			srv("454 4.7.0 TLS not available\r\n"),
			cli("MAIL FROM:<a@example.org>\r\n"),
			srv("250 2.1.0 Ok\r\n"),
			cli(hello),
			srv("500 5.5.2 Error: bad syntax\r\n"),
		}, -1},
		{"a refusal long before, STARTTLS accepted again", []event{
			srv("220 mx ESMTP\r\n"),
			cli("STARTTLS\r\n"),
			srv("503 5.5.1 EHLO first\r\n"),
			cli("EHLO c\r\n"),
			srv("250-mx\r\n250 STARTTLS\r\n"),
			cli("STARTTLS\r\n"),
			srv("220 2.0.0 Ready\r\n"),
			cli(hello),
		}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := run(t, Options{}, tc.events...)
			r := d.RefusedTLS
			if tc.hello < 0 {
				if r != nil {
					t.Fatalf("RefusedTLS = %+v, want none", r)
				}
				return
			}
			if r == nil {
				t.Fatalf("no RefusedTLS; verbs %q", verbs(d))
			}
			if r.Command != d.Commands[1] || r.Command.Verb != "STARTTLS" || r.Reply == nil || r.Reply.Code != 454 {
				t.Errorf("RefusedTLS command %+v reply %+v", r.Command, r.Reply)
			}
			if r.Hello != d.Commands[tc.hello] || r.Hello.Span.Start != at(t, stream(tc.events, ClientToServer), hello, 0) {
				t.Errorf("hello is command %d at %v, want command %d", slices.Index(d.Commands, r.Hello), r.Hello.Span, tc.hello)
			}
			// The server read the hello's first line as a command and
			// refused it (the second never ended): the lines stay
			// commands, so that the refusal pairs with what it answers.
			if n := len(d.Commands); n != tc.hello+2 || r.Hello.Reply == nil || r.Hello.Reply.Code != 500 {
				t.Errorf("commands %q, the hello answered by %+v", verbs(d), r.Hello.Reply)
			}
			h := r.Client.Hello
			if r.Client.Records != 1 || h == nil || !h.Client || h.Offered() != "TLS 1.2 to TLS 1.3" || r.Client.NotTLS || r.Client.Lost {
				t.Errorf("client side %+v, hello %+v", r.Client, h)
			}
		})
	}
}

// TestAReplyToALineNotYetEndedAnswersIt: Sendmail, when its command
// timeout fires, reads what came of the line as the command and answers
// it; a 4xx is the server's timeout itself (421 closing, Exchange's 451),
// no answer.
func TestAReplyToALineNotYetEndedAnswersIt(t *testing.T) {
	start := []event{
		srv("220 mx ESMTP\r\n"),
		cli("EHLO c\r\n"),
		srv("250-mx\r\n250 PIPELINING\r\n"),
		cli("MAIL FROM:<alice@peer"),
	}
	d := run(t, Options{}, append(start, srv("553 5.0.0 <alice@peer... Unbalanced '<'\r\n"))...)
	if len(d.Commands) != 2 {
		t.Fatalf("commands %q", verbs(d))
	}
	mail := d.Commands[1]
	if mail.Verb != "MAIL" || mail.Reply == nil || mail.Reply.Code != 553 || mail.Ending != LineEndingNone ||
		!slices.Equal(mail.Problems, []string{problemAnsweredCut}) || d.Replies[2].Command != mail {
		t.Errorf("MAIL %+v, reply %+v", mail, mail.Reply)
	}
	if tx := d.Transactions; len(tx) != 1 || tx[0].Mail != mail {
		t.Errorf("transactions %+v", tx)
	}
	for _, timeout := range []string{"421 4.4.2 mx timeout waiting for input\r\n", "451 4.7.0 Timeout waiting for client input\r\n"} {
		d = run(t, Options{}, append(start, srv(timeout))...)
		if mail := d.Commands[1]; mail.Reply != nil || !slices.Equal(mail.Problems, []string{ProblemNoEnding}) || d.Replies[2].Command != nil {
			t.Errorf("after %q: MAIL %+v, reply %+v", timeout, mail, mail.Reply)
		}
	}
}

func TestSMTPUTF8DeclaredToAServerThatDoesNotOfferIt(t *testing.T) {
	d := run(t, Options{},
		srv("220 mx ESMTP\r\n"),
		cli("EHLO c\r\n"),
		srv("250-mx\r\n250 8BITMIME\r\n"),
		cli("MAIL FROM:<j\xc3\xb6rg@client.test> SMTPUTF8\r\n"),
		srv("553 5.1.0 Sender address syntax error\r\n"),
	)
	if got := d.Commands[1].Problems; !slices.Equal(got, []string{problemUTF8NotOffered}) {
		t.Errorf("problems %q", got)
	}
}

func TestAParameterGivenTwiceIsSaid(t *testing.T) {
	// Python's smtplib with SMTPUTF8 sends "SMTPUTF8 SMTPUTF8".
	d := run(t, Options{},
		srv("220 mx ESMTP\r\n"),
		cli("EHLO c\r\n"),
		srv("250-mx\r\n250 SMTPUTF8\r\n"),
		cli("mail FROM:<a@example.org> size=198 SMTPUTF8 SMTPUTF8\r\n"),
		srv("250 ok\r\n"),
	)
	if mail := d.Commands[1]; !slices.Equal(mail.Problems, []string{ProblemParamTwice}) || mail.Params["SIZE"] != "198" {
		t.Errorf("MAIL problems %q params %v", mail.Problems, mail.Params)
	}
}

// TestABDATChunkToAServerWithoutCHUNKING: the bytes after a BDAT to a
// server that did not offer CHUNKING are held until its reply says how it
// read them: as the chunk (250, or a 521 that closes), or, unknown (500),
// as command lines, each answered.
func TestABDATChunkToAServerWithoutCHUNKING(t *testing.T) {
	start := []event{
		srv("220 mx ESMTP\r\n"),
		cli("EHLO c\r\n"),
		srv("250-mx\r\n250 PIPELINING\r\n"),
		cli("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n"),
		srv("250 ok\r\n250 ok\r\n"),
		cli("BDAT 12 LAST\r\nSubject: x\r\nQUIT\r\n"),
	}
	d := run(t, Options{}, append(start, srv("500 unrecognized\r\n500 unrecognized\r\n221 bye\r\n"))...)
	if got := verbs(d); !slices.Equal(got, []string{"EHLO", "MAIL", "RCPT", "BDAT", "SUBJECT:", "QUIT"}) {
		t.Fatalf("verbs %q", got)
	}
	if ch := d.Transactions[0].Chunks; len(ch) != 1 || !ch[0].Refused || ch[0].Data.End != ch[0].Data.Start {
		t.Errorf("chunks %+v", ch)
	}
	if q := d.Commands[5]; q.Reply == nil || q.Reply.Code != 221 {
		t.Errorf("QUIT's reply %+v", q.Reply)
	}
	d = run(t, Options{}, append(start, srv("250 2.0.0 queued\r\n221 bye\r\n"))...)
	if got := verbs(d); !slices.Equal(got, []string{"EHLO", "MAIL", "RCPT", "BDAT", "QUIT"}) {
		t.Fatalf("taken: verbs %q", got)
	}
	if ch := d.Transactions[0].Chunks; len(ch) != 1 || ch[0].Refused || ch[0].Data.End-ch[0].Data.Start != 12 || !d.Transactions[0].Body.Complete {
		t.Errorf("taken: chunks %+v", ch)
	}
}

// TestALineReadInPartIsNotJudgedByItsEnd: of a line longer than what is
// read for parsing (1024 bytes here), the path that closes past the
// window is no unterminated path, and the parameter cut by the window
// (SIZE=12345 of SIZE=123456789) is not taken for the client's.
func TestALineReadInPartIsNotJudgedByItsEnd(t *testing.T) {
	rcpt := "RCPT TO:<" + strings.Repeat("a", 2000) + "@example.net>\r\n"
	mail := "MAIL FROM:<" + strings.Repeat("b", 985) + "@b> BODY=8BITMIME SIZE=123456789\r\n"
	d := run(t, Options{MaxLineKeep: 20},
		srv("220 mx\r\n"), cli("EHLO c\r\n"), srv("250 mx\r\n"),
		cli(mail), srv("250 ok\r\n"), cli(rcpt), srv("250 ok\r\n"))
	if len(d.Commands) != 3 {
		t.Fatalf("%d commands", len(d.Commands))
	}
	m, r := d.Commands[1], d.Commands[2]
	if m.Verb != "MAIL" || m.Length != int64(len(mail)) || !hasProblem(m.Problems, problemNotKept) {
		t.Errorf("MAIL: %+v", m)
	}
	if _, ok := m.Params["SIZE"]; ok || m.Params["BODY"] != "8BITMIME" {
		t.Errorf("MAIL parameters %v, want BODY alone (SIZE was cut at 12345)", m.Params)
	}
	if r.Verb != "RCPT" || !hasProblem(r.Problems, problemNotKept) || hasProblem(r.Problems, problemUnterminatedPath) {
		t.Errorf("RCPT problems %q, want %q and no %q", r.Problems, problemNotKept, problemUnterminatedPath)
	}
	if !strings.HasPrefix(r.Path, "aaaa") {
		t.Errorf("RCPT path %.20q…", r.Path)
	}
}

// A client more commands ahead of the server than the parser waits for
// at once: the oldest is forgotten, and the reply that comes for it
// after all answers no command, so that every later reply still pairs
// with its own command, not the one after.
func TestRepliesToForgottenCommandsPairWithNothing(t *testing.T) {
	d := run(t, Options{MaxElements: 4},
		srv("220 mx\r\n"),
		cli("NOOP 1\r\nNOOP 2\r\nNOOP 3\r\nNOOP 4\r\nNOOP 5\r\n"),
		srv("250 one\r\n250 two\r\n250 three\r\n250 four\r\n250 five\r\n"))
	if d.Forgotten != 1 {
		t.Errorf("Forgotten = %d, want 1 (NOOP 1, when NOOP 5 was sent)", d.Forgotten)
	}
	if c := d.Commands[0]; c.Reply != nil || !c.Forgotten {
		t.Errorf("NOOP 1: Forgotten %v, reply %+v; want forgotten, no reply", c.Forgotten, c.Reply)
	}
	for i, want := range []string{"two", "three", "four"} {
		c := d.Commands[i+1]
		if c.Reply == nil || c.Reply.Lines[0] != want || c.Reply.Command != c {
			t.Errorf("%s: reply %+v, want %q", c.Line, c.Reply, want)
		}
	}
	if r := d.Replies[1]; r.Lines[0] != "one" || r.Command != nil || !r.Forgotten {
		t.Errorf("reply %q answers %+v, want no command", r.Lines, r.Command)
	}
}
