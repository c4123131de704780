build/obj/proxy/dashboard.o: proxy/dashboard.c proxy/dashboard.h \
 common/buf-t.h /usr/include/android/openssl/base64.h \
 /usr/include/android/openssl/base.h \
 /usr/include/android/openssl/is_boringssl.h \
 /usr/include/android/openssl/opensslconf.h \
 /usr/include/android/openssl/sha.h common/buf.h common/err.h \
 common/version.h
proxy/dashboard.h:
common/buf-t.h:
/usr/include/android/openssl/base64.h:
/usr/include/android/openssl/base.h:
/usr/include/android/openssl/is_boringssl.h:
/usr/include/android/openssl/opensslconf.h:
/usr/include/android/openssl/sha.h:
common/buf.h:
common/err.h:
common/version.h:
