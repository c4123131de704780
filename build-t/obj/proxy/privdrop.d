build/obj/proxy/privdrop.o: proxy/privdrop.c proxy/privdrop.h \
 common/err.h
proxy/privdrop.h:
common/err.h:
