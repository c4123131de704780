build/obj/config/registry.o: config/registry.c config/registry.h \
 config/config-t.h common/xalloc.h
config/registry.h:
config/config-t.h:
common/xalloc.h:
