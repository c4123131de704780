build/obj/config/value.o: config/value.c config/config.h common/str.h \
 config/config-t.h config/parse.h
config/config.h:
common/str.h:
config/config-t.h:
config/parse.h:
