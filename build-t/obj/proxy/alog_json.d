build/obj/proxy/alog_json.o: proxy/alog_json.c proxy/alog_json.h \
 common/str.h
proxy/alog_json.h:
common/str.h:
