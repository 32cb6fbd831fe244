/* render_stub.c — placeholder so the library links before its sources land. */
typedef int render_stub_unused;
