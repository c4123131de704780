build/obj/config/upgrade.o: config/upgrade.c config/config.h common/str.h \
 config/config-t.h config/parse.h
config/config.h:
common/str.h:
config/config-t.h:
config/parse.h:
