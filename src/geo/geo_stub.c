/* geo_stub.c — placeholder so the library links before its sources land. */
typedef int geo_stub_unused;
