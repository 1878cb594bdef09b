-- Link origins per org: with PUBLIC_URL unset, an org's links use the origin of its own API requests.
ALTER TABLE `orgs` ADD `public_url` text;