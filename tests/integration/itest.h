/*
 * itest.h - small helpers shared by the integration tests (include after
 * cmocka.h).
 */
#ifndef ITEST_H
#define ITEST_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * A TCP listener on a free loopback port. Connects succeed whether or not
 * the caller ever accepts: left alone it is a server that never answers.
 * Returns the socket; *port gets its port.
 */
static inline int
itest_listener(int *port)
{
	struct sockaddr_in a   = { .sin_family = AF_INET };
	socklen_t          len = sizeof(a);
	int                fd  = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *) &a, &len), 0);
	*port = ntohs(a.sin_port);
	return (fd);
}

/* A loopback port with nothing listening (it just was free). */
static inline int
itest_closed_port(void)
{
	int port, fd = itest_listener(&port);
	close(fd);
	return (port);
}

/* fmt with each of up to three %s replaced by schema (a static buffer). */
static inline const char *
itest_sqlf(const char *schema, const char *fmt)
{
	static char buf[1024];
	snprintf(buf, sizeof(buf), fmt, schema, schema, schema);
	return (buf);
}

#endif /* ITEST_H */
