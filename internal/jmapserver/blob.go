package jmapserver

import "net/http"

func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request)   {}
func (s *Server) handleDownload(w http.ResponseWriter, r *http.Request) {}
