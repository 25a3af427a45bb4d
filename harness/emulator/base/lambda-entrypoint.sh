#!/bin/sh
# Entrypoint of the stand-in base image, behaving like the one in AWS's Lambda images: the image CMD
# (the handler, e.g. dist/runtime/handler.handler) becomes $_HANDLER; outside Lambda
# (AWS_LAMBDA_RUNTIME_API unset) the Runtime Interface Emulator wraps the runtime and serves
# POST :8080/2015-03-31/functions/function/invocations, on Lambda the runtime starts directly.
if [ $# -ne 1 ]; then
  echo "entrypoint requires the handler name to be the first argument" 1>&2
  exit 142
fi
export _HANDLER="$1"

RUNTIME_ENTRYPOINT=/var/runtime/bootstrap
if [ -z "${AWS_LAMBDA_RUNTIME_API}" ]; then
  exec /usr/local/bin/aws-lambda-rie "$RUNTIME_ENTRYPOINT"
else
  exec "$RUNTIME_ENTRYPOINT"
fi
