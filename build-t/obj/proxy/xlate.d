build/obj/proxy/xlate.o: proxy/xlate.c proxy/xlate.h common/buf.h \
 common/buf-t.h common/str.h config/config-t.h proxy/hdrs-t.h \
 /usr/include/android/openssl/base64.h \
 /usr/include/android/openssl/base.h \
 /usr/include/android/openssl/is_boringssl.h \
 /usr/include/android/openssl/opensslconf.h \
 /usr/include/android/openssl/sha.h common/err.h common/xalloc.h \
 proxy/hdrs.h
proxy/xlate.h:
common/buf.h:
common/buf-t.h:
common/str.h:
config/config-t.h:
proxy/hdrs-t.h:
/usr/include/android/openssl/base64.h:
/usr/include/android/openssl/base.h:
/usr/include/android/openssl/is_boringssl.h:
/usr/include/android/openssl/opensslconf.h:
/usr/include/android/openssl/sha.h:
common/err.h:
common/xalloc.h:
proxy/hdrs.h:
