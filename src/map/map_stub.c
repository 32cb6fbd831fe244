/* map_stub.c — placeholder so the library links before its sources land. */
typedef int map_stub_unused;
