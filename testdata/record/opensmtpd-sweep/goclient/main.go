// tiny net/smtp client for smtpcap recordings
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"net/smtp"
	"os"
	"strings"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:25", "server")
	mode := flag.String("mode", "sendmail", "sendmail | sendmail-auth | manual | starttls-insecure")
	from := flag.String("from", "gosender@client.test", "")
	to := flag.String("to", "alice@mx.test", "comma separated")
	flag.Parse()
	rcpts := strings.Split(*to, ",")
	host := strings.Split(*addr, ":")[0]
	msg := []byte("From: " + *from + "\r\nTo: " + *to + "\r\nSubject: go net/smtp " + *mode + "\r\n\r\nHello from Go net/smtp.\r\n")
	var err error
	switch *mode {
	case "sendmail":
		err = smtp.SendMail(*addr, nil, *from, rcpts, msg)
	case "sendmail-auth":
		err = smtp.SendMail(*addr, smtp.PlainAuth("", "gouser", "gopass", host), *from, rcpts, msg)
	case "manual", "starttls-insecure":
		err = manual(*addr, *mode == "starttls-insecure", *from, rcpts, msg)
	case "manual-auth":
		// AUTH PLAIN over clear text with the real server name: net/smtp refuses locally
		var c *smtp.Client
		if c, err = smtp.Dial(*addr); err == nil {
			defer c.Close()
			if err = c.Hello("goclient.test"); err == nil {
				err = c.Auth(smtp.PlainAuth("", "gouser", "gopass", host))
			}
		}
	case "auth-localhost":
		// the same, but the client believes it talks to "localhost", so net/smtp sends AUTH PLAIN in clear text
		var conn net.Conn
		if conn, err = net.Dial("tcp", *addr); err == nil {
			c, _ := smtp.NewClient(conn, "localhost")
			if c != nil {
				defer c.Close()
				if err = c.Hello("goclient.test"); err == nil {
					err = c.Auth(smtp.PlainAuth("", "gouser", "gopass", "localhost"))
					fmt.Println("auth:", err)
					if err2 := c.Quit(); err2 != nil {
						fmt.Println("quit:", err2)
					}
				}
			}
		}
	default:
		err = fmt.Errorf("unknown mode")
	}
	if err != nil {
		fmt.Println("ERROR:", err)
		os.Exit(1)
	}
	fmt.Println("OK")
}

func manual(addr string, tlsOn bool, from string, rcpts []string, msg []byte) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err = c.Hello("goclient.test"); err != nil {
		return err
	}
	if tlsOn {
		if err = c.StartTLS(&tls.Config{InsecureSkipVerify: true}); err != nil {
			return fmt.Errorf("starttls: %w", err)
		}
	}
	if err = c.Mail(from); err != nil {
		return err
	}
	for _, r := range rcpts {
		if err = c.Rcpt(r); err != nil {
			fmt.Println("rcpt", r, "refused:", err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err = w.Write(msg); err != nil {
		return err
	}
	if err = w.Close(); err != nil {
		return err
	}
	return c.Quit()
}
