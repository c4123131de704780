build/obj/proxy/admin.o: proxy/admin.c proxy/admin.h common/stats-t.h \
 common/buf.h common/buf-t.h common/container.h common/err.h common/log.h \
 common/procstat.h common/stats.h common/xalloc.h proxy/dashboard.h \
 proxy/health.h proxy/sock.h proxy/sock-t.h \
 /usr/include/android/openssl/ssl.h /usr/include/android/openssl/base.h \
 /usr/include/android/openssl/is_boringssl.h \
 /usr/include/android/openssl/opensslconf.h \
 /usr/include/android/openssl/bio.h /usr/include/android/openssl/buffer.h \
 /usr/include/android/openssl/buf.h /usr/include/android/openssl/err.h \
 /usr/include/android/openssl/ex_data.h \
 /usr/include/android/openssl/stack.h \
 /usr/include/android/openssl/type_check.h \
 /usr/include/android/openssl/thread.h /usr/include/android/openssl/buf.h \
 /usr/include/android/openssl/pem.h /usr/include/android/openssl/base64.h \
 /usr/include/android/openssl/cipher.h \
 /usr/include/android/openssl/digest.h /usr/include/android/openssl/evp.h \
 /usr/include/android/openssl/evp_errors.h \
 /usr/include/android/openssl/aead.h /usr/include/android/openssl/nid.h \
 /usr/include/android/openssl/pkcs7.h /usr/include/android/openssl/x509.h \
 /usr/include/android/openssl/asn1.h /usr/include/android/openssl/bn.h \
 /usr/include/android/openssl/dh.h /usr/include/android/openssl/dsa.h \
 /usr/include/android/openssl/engine.h /usr/include/android/openssl/ec.h \
 /usr/include/android/openssl/ec_key.h \
 /usr/include/android/openssl/ecdh.h /usr/include/android/openssl/ecdsa.h \
 /usr/include/android/openssl/obj.h \
 /usr/include/android/openssl/bytestring.h \
 /usr/include/android/openssl/span.h /usr/include/android/openssl/pool.h \
 /usr/include/android/openssl/rsa.h /usr/include/android/openssl/sha.h \
 /usr/include/android/openssl/crypto.h /usr/include/android/openssl/mem.h \
 /usr/include/android/openssl/ssl3.h /usr/include/android/openssl/tls1.h \
 /usr/include/android/openssl/hmac.h
proxy/admin.h:
common/stats-t.h:
common/buf.h:
common/buf-t.h:
common/container.h:
common/err.h:
common/log.h:
common/procstat.h:
common/stats.h:
common/xalloc.h:
proxy/dashboard.h:
proxy/health.h:
proxy/sock.h:
proxy/sock-t.h:
/usr/include/android/openssl/ssl.h:
/usr/include/android/openssl/base.h:
/usr/include/android/openssl/is_boringssl.h:
/usr/include/android/openssl/opensslconf.h:
/usr/include/android/openssl/bio.h:
/usr/include/android/openssl/buffer.h:
/usr/include/android/openssl/buf.h:
/usr/include/android/openssl/err.h:
/usr/include/android/openssl/ex_data.h:
/usr/include/android/openssl/stack.h:
/usr/include/android/openssl/type_check.h:
/usr/include/android/openssl/thread.h:
/usr/include/android/openssl/buf.h:
/usr/include/android/openssl/pem.h:
/usr/include/android/openssl/base64.h:
/usr/include/android/openssl/cipher.h:
/usr/include/android/openssl/digest.h:
/usr/include/android/openssl/evp.h:
/usr/include/android/openssl/evp_errors.h:
/usr/include/android/openssl/aead.h:
/usr/include/android/openssl/nid.h:
/usr/include/android/openssl/pkcs7.h:
/usr/include/android/openssl/x509.h:
/usr/include/android/openssl/asn1.h:
/usr/include/android/openssl/bn.h:
/usr/include/android/openssl/dh.h:
/usr/include/android/openssl/dsa.h:
/usr/include/android/openssl/engine.h:
/usr/include/android/openssl/ec.h:
/usr/include/android/openssl/ec_key.h:
/usr/include/android/openssl/ecdh.h:
/usr/include/android/openssl/ecdsa.h:
/usr/include/android/openssl/obj.h:
/usr/include/android/openssl/bytestring.h:
/usr/include/android/openssl/span.h:
/usr/include/android/openssl/pool.h:
/usr/include/android/openssl/rsa.h:
/usr/include/android/openssl/sha.h:
/usr/include/android/openssl/crypto.h:
/usr/include/android/openssl/mem.h:
/usr/include/android/openssl/ssl3.h:
/usr/include/android/openssl/tls1.h:
/usr/include/android/openssl/hmac.h:
