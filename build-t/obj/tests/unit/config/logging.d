build/obj/tests/unit/config/logging.o: tests/unit/config/logging.c \
 tests/unit/config/helpers.h config/config.h common/str.h \
 config/config-t.h
tests/unit/config/helpers.h:
config/config.h:
common/str.h:
config/config-t.h:
