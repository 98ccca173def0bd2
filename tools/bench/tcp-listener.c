// accept-and-close TCP listener on 127.0.0.1:PORT; counts accepted connections,
// writes the count to ./listener.count every second.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <sys/time.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <netinet/in.h>
static volatile unsigned long long n;
static void tick(int s){ (void)s; FILE*f=fopen("listener.count","w"); if(f){fprintf(f,"%llu\n",n);fclose(f);} }
int main(int argc,char**argv){
  int port=atoi(argv[1]);
  int s=socket(AF_INET,SOCK_STREAM,0),one=1;
  setsockopt(s,SOL_SOCKET,SO_REUSEADDR,&one,sizeof one);
  struct sockaddr_in a={0}; a.sin_family=AF_INET; a.sin_port=htons(port); a.sin_addr.s_addr=htonl(INADDR_LOOPBACK);
  if(bind(s,(void*)&a,sizeof a)||listen(s,4096)){perror("bind/listen");return 1;}
  struct sigaction sa={0}; sa.sa_handler=tick; sa.sa_flags=SA_RESTART; sigaction(SIGALRM,&sa,0);
  struct itimerval it={{1,0},{1,0}}; setitimer(ITIMER_REAL,&it,0);
  for(;;){ int c=accept(s,0,0); if(c>=0){close(c);n++;} }
}
