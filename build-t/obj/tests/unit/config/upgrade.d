build/obj/tests/unit/config/upgrade.o: tests/unit/config/upgrade.c \
 tests/unit/config/helpers.h config/config.h common/str.h \
 config/config-t.h config/parse.h
tests/unit/config/helpers.h:
config/config.h:
common/str.h:
config/config-t.h:
config/parse.h:
