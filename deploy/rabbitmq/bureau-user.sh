#!/bin/sh
# A district bureau's own broker login: it may declare and read only its own queues, and bind them on
# minqing.public only to its own transfers and to the answer keys (RabbitMQ topic authorisation), so
# no bureau can bind `#` and read every bureau's cases. Run once per bureau, on a broker node:
#
#   deploy/rabbitmq/bureau-user.sh education 'a long random password' [vhost, default minqing]
#
# The bureau then connects as `bureau-education` and names its queues `education-bureau-…`
# (docs/public-events.md, "Your broker login"). Running it again changes the password.
set -eu
code=$1
password=$2
vhost=${3:-minqing}
case "$code" in
  *[!a-z0-9_-]* | "") echo "bureau code must be lower-case letters, digits, - or _" >&2; exit 2 ;;
esac
user="bureau-$code"
queues="^$code-bureau-.*"
rabbitmqctl -q add_user "$user" "$password" 2>/dev/null || rabbitmqctl -q change_password "$user" "$password"
# configure / write / read: its own queues; read on the exchange, which binding needs
rabbitmqctl -q set_permissions -p "$vhost" "$user" "$queues" "$queues" "^($code-bureau-.*|minqing\.public)$"
# publish nothing on minqing.public; bind only to its transfers and to the answer keys
rabbitmqctl -q set_topic_permissions -p "$vhost" "$user" minqing.public "^$" \
  "^case\.escalated\.[^.]+\.$code$|^case\.(bureau_accepted|bureau_returned|resolved)\.[^.]+$"
