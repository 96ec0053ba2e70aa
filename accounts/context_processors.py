def organisations(request):
    return {
        "memberships": getattr(request, "memberships", []),
        "current_membership": getattr(request, "membership", None),
    }
