#!/usr/bin/env bash
# Refresh the Swagger UI and ReDoc files served at /docs and /redoc from the package, so the
# docs work on a machine without internet. Bump a version here, run it, commit the result.
set -euo pipefail
SWAGGER_UI_VERSION=5.35.0
REDOC_VERSION=2.5.4
cd "$(dirname "$0")/.."
target=src/seam_api/static
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "swagger-ui-dist@$SWAGGER_UI_VERSION" "redoc@$REDOC_VERSION" >/dev/null)
tar -xzf "$work/swagger-ui-dist-$SWAGGER_UI_VERSION.tgz" -C "$work" && mv "$work/package" "$work/swagger"
tar -xzf "$work/redoc-$REDOC_VERSION.tgz" -C "$work" && mv "$work/package" "$work/redoc"
rm -rf "$target/swagger-ui" "$target/redoc"
mkdir -p "$target/swagger-ui" "$target/redoc"
cp "$work"/swagger/{swagger-ui-bundle.js,swagger-ui.css,favicon-32x32.png,LICENSE,NOTICE} \
   "$work"/swagger/swagger-ui-bundle.js.LICENSE.txt "$target/swagger-ui/"
cp "$work"/redoc/bundles/{redoc.standalone.js,redoc.standalone.js.LICENSE.txt} \
   "$work"/redoc/LICENSE "$target/redoc/"
echo "swagger-ui-dist $SWAGGER_UI_VERSION" > "$target/swagger-ui/VERSION"
echo "redoc $REDOC_VERSION" > "$target/redoc/VERSION"
echo "Vendored swagger-ui-dist $SWAGGER_UI_VERSION and redoc $REDOC_VERSION into $target"
