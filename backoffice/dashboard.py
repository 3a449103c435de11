def dashboard_callback(request, context):
    return context
