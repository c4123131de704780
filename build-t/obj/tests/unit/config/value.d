build/obj/tests/unit/config/value.o: tests/unit/config/value.c \
 tests/unit/config/helpers.h config/config.h common/str.h \
 config/config-t.h config/parse.h
tests/unit/config/helpers.h:
config/config.h:
common/str.h:
config/config-t.h:
config/parse.h:
