/* keylog.c: LD_PRELOAD shim for Postfix 3.7 (no native TLS key logging).
 * Wraps SSL_CTX_new and installs an OpenSSL keylog callback that appends
 * NSS key log lines to the file named by $SMTPCAP_KEYLOG. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <openssl/ssl.h>

static void cb(const SSL *ssl, const char *line) {
	(void)ssl;
	const char *p = getenv("SMTPCAP_KEYLOG");
	if (!p) return;
	FILE *f = fopen(p, "a");
	if (!f) return;
	fprintf(f, "%s\n", line);
	fclose(f);
}

SSL_CTX *SSL_CTX_new(const SSL_METHOD *m) {
	static SSL_CTX *(*real)(const SSL_METHOD *);
	if (!real) real = (SSL_CTX *(*)(const SSL_METHOD *))dlsym(RTLD_NEXT, "SSL_CTX_new");
	SSL_CTX *ctx = real(m);
	if (ctx) SSL_CTX_set_keylog_callback(ctx, cb);
	return ctx;
}
