build/obj/tests/unit/config/connect_rule.o: \
 tests/unit/config/connect_rule.c config/connect_rule.h common/str.h
config/connect_rule.h:
common/str.h:
