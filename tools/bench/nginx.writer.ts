/**
 * The peer reverse proxy's configuration: nginx in front of the job's front, run as the current
 * user with everything (pid, logs, temp files) in `dir`. Keep-alive to the upstream and no
 * buffering either way, as a reverse proxy in front of a streaming LLM API is set up; no access
 * log, as the control plane logs no line per request either.
 */
export function renderNginxConfig(options: {
  dir: string;
  listenPort: number;
  upstream: { host: string; port: number };
  workers: number;
}): string {
  const { dir } = options;
  return `worker_processes ${options.workers};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
daemon off;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  client_max_body_size 1m;
  keepalive_requests 1000000;
  upstream front {
    server ${options.upstream.host}:${options.upstream.port};
    keepalive 128;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${options.listenPort};
    location / {
      proxy_pass http://front;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
    }
  }
}
`;
}
