/* testkit.h — small helpers shared by the test fixtures and the benches, so each does not keep
 * its own copy: a free loopback TCP port and removing a directory tree. */
#ifndef AWM_TESTKIT_H
#define AWM_TESTKIT_H

/* A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it); 0 when none could be
 * had. Another process can take it before the caller binds, so callers that can retry should. */
int tk_free_port(void);

/* Remove dir and everything under it (symlinks are removed, not followed); missing is fine. */
void tk_remove_tree(const char *dir);

#endif
