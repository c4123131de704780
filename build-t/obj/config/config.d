build/obj/config/config.o: config/config.c config/config.h common/str.h \
 config/config-t.h common/cpus.h common/log.h common/syslog.h \
 common/version.h common/xalloc.h config/connect_rule.h config/options.h \
 config/parse.h config/resolve.h
config/config.h:
common/str.h:
config/config-t.h:
common/cpus.h:
common/log.h:
common/syslog.h:
common/version.h:
common/xalloc.h:
config/connect_rule.h:
config/options.h:
config/parse.h:
config/resolve.h:
