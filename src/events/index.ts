// The events wing: tracked events (POST /v1/events) and the fan-out that starts, wakes and ends
// enrollments. Its routes and consumer are its whole surface; no other wing calls into it.
export {};
