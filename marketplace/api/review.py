"""The reviewers' API: reference standards, the review queue, reviews, decisions and
certificates; and the public certificate lookup (no login).

Review endpoints answer 404 to anyone outside the authorities; inside, each write calls one
marketplace.services function, which refuses a viewer (403). Published standards are readable
by anyone signed in; a draft only by its authority. Prices are integer fen.
"""

from django.core.exceptions import ValidationError
from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from accounts.api import NOT_FOUND, PagePagination, write_responses
from marketplace import certificates, selectors, services
from marketplace.serializers.review import (
    CertificateActionSerializer,
    CertificateSerializer,
    DecisionSerializer,
    ReviewQueueItemSerializer,
    ReviewRevisionSerializer,
    StandardCreateSerializer,
    StandardRequirementSerializer,
    StandardRequirementWriteSerializer,
    StandardSerializer,
    StandardUpdateSerializer,
    TierBandSerializer,
    VerdictSerializer,
    VerdictWriteSerializer,
)

# Standards -----------------------------------------------------------------------------------


class StandardListApi(GenericAPIView):
    serializer_class = StandardSerializer
    pagination_class = PagePagination

    @extend_schema(
        summary=_("Reference standards: published and retired ones, and my authority's drafts"),
        responses=StandardSerializer(many=True),
    )
    def get(self, request):
        standards = selectors.standard_list_for(user=request.user).prefetch_related(
            "requirements", "bands"
        )
        page = self.paginate_queryset(standards)
        return self.get_paginated_response(StandardSerializer(page, many=True).data)

    @extend_schema(
        summary=_("Start a draft version of a scenario's standard (authority staff and above)"),
        request=StandardCreateSerializer,
        responses=write_responses({201: StandardSerializer}),
    )
    def post(self, request):
        membership = selectors.authority_membership_for(user=request.user)
        serializer = StandardCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        standard = services.standard_create(
            authority=membership.organisation, by=request.user, **serializer.validated_data
        )
        return Response(StandardSerializer(standard).data, status=status.HTTP_201_CREATED)


class _InStandard(GenericAPIView):
    def get_standard(self, standard_id):
        return selectors.standard_get_by_id_for(user=self.request.user, standard_id=standard_id)


class StandardDetailApi(_InStandard):
    serializer_class = StandardSerializer

    @extend_schema(
        summary=_("One version of a reference standard"),
        responses={200: StandardSerializer, 404: NOT_FOUND},
    )
    def get(self, request, standard_id: int):
        return Response(StandardSerializer(self.get_standard(standard_id)).data)

    @extend_schema(
        summary=_("Change a draft's titles, modes or monitoring-fee band (authority staff+)"),
        request=StandardUpdateSerializer,
        responses=write_responses({200: StandardSerializer}),
    )
    def patch(self, request, standard_id: int):
        standard = self.get_standard(standard_id)
        serializer = StandardUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        current = {field: getattr(standard, field) for field in StandardUpdateSerializer().fields}
        standard = services.standard_update(
            standard=standard, by=request.user, **{**current, **serializer.validated_data}
        )
        return Response(StandardSerializer(standard).data)


class StandardRequirementListApi(_InStandard):
    serializer_class = StandardRequirementSerializer
    pagination_class = None  # a standard has a handful of requirements, read whole and in order

    @extend_schema(
        summary=_("A standard's requirements"),
        responses={200: StandardRequirementSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request, standard_id: int):
        standard = self.get_standard(standard_id)
        return Response(StandardRequirementSerializer(standard.requirements.all(), many=True).data)

    @extend_schema(
        summary=_("Add a requirement to a draft standard (authority staff and above)"),
        request=StandardRequirementWriteSerializer,
        responses=write_responses({201: StandardRequirementSerializer}),
    )
    def post(self, request, standard_id: int):
        standard = self.get_standard(standard_id)
        serializer = StandardRequirementWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        requirement = services.standard_requirement_add(
            standard=standard, by=request.user, **serializer.validated_data
        )
        data = StandardRequirementSerializer(requirement).data
        return Response(data, status=status.HTTP_201_CREATED)


class StandardBandListApi(_InStandard):
    serializer_class = TierBandSerializer
    pagination_class = None

    @extend_schema(
        summary=_("A standard's price band per tier (fen per device)"),
        responses={200: TierBandSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request, standard_id: int):
        standard = self.get_standard(standard_id)
        return Response(TierBandSerializer(standard.bands.all(), many=True).data)

    @extend_schema(
        summary=_("Set one tier's price band of a draft standard (authority staff and above)"),
        request=TierBandSerializer,
        responses=write_responses({200: TierBandSerializer}),
    )
    def put(self, request, standard_id: int):
        standard = self.get_standard(standard_id)
        serializer = TierBandSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        band = services.standard_band_set(
            standard=standard, by=request.user, **serializer.validated_data
        )
        return Response(TierBandSerializer(band).data)


class StandardPublishApi(_InStandard):
    serializer_class = StandardSerializer

    @extend_schema(
        summary=_("Publish a draft; the previous version is retired (authority staff and above)"),
        request=None,
        responses=write_responses({200: StandardSerializer}),
    )
    def post(self, request, standard_id: int):
        standard = services.standard_publish(
            standard=self.get_standard(standard_id), by=request.user
        )
        return Response(StandardSerializer(standard).data)


# Reviews -------------------------------------------------------------------------------------


class ReviewQueueApi(GenericAPIView):
    serializer_class = ReviewQueueItemSerializer
    pagination_class = PagePagination

    @extend_schema(
        summary=_("The review queue, oldest first (authority members)"),
        responses={200: ReviewQueueItemSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request):
        page = self.paginate_queryset(selectors.review_queue_for(user=request.user))
        return self.get_paginated_response(ReviewQueueItemSerializer(page, many=True).data)


class _InReview(GenericAPIView):
    def get_revision(self, solution_id, number):
        return selectors.review_revision_get_for(
            user=self.request.user, public_id=solution_id, number=number
        )

    def get_review(self, revision):
        review = selectors.review_of(revision)
        if review is None:
            raise ValidationError(_("The review has not been started."))
        return review

    def revision_response(self, solution_id, number, **kwargs) -> Response:
        revision = self.get_revision(solution_id, number)  # fresh, with its review and timeline
        review = selectors.review_of(revision)
        problems = []
        if review is not None and review.decided_at is None:
            problems = services.certification_problems(revision, review)
        context = {"review": review, "problems": problems}
        return Response(ReviewRevisionSerializer(revision, context=context).data, **kwargs)


class ReviewDetailApi(_InReview):
    serializer_class = ReviewRevisionSerializer

    @extend_schema(
        summary=_("A submitted revision with its review, checklist and what blocks certifying"),
        responses={200: ReviewRevisionSerializer, 404: NOT_FOUND},
    )
    def get(self, request, solution_id, number: int):
        return self.revision_response(solution_id, number)

    @extend_schema(
        summary=_("Start reviewing a submitted revision (authority staff and above)"),
        request=None,
        responses=write_responses({201: ReviewRevisionSerializer}),
    )
    def post(self, request, solution_id, number: int):
        services.review_start(revision=self.get_revision(solution_id, number), by=request.user)
        return self.revision_response(solution_id, number, status=status.HTTP_201_CREATED)


class ReviewVerdictApi(_InReview):
    serializer_class = VerdictSerializer

    @extend_schema(
        summary=_("Record the verdict on one requirement (the reviewer's authority)"),
        request=VerdictWriteSerializer,
        responses=write_responses({200: VerdictSerializer}),
    )
    def put(self, request, solution_id, number: int):
        revision = self.get_revision(solution_id, number)
        review = self.get_review(revision)
        serializer = VerdictWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        code = data.pop("requirement")
        requirement = next(
            (r for r in revision.standard.requirements.all() if r.code == code), None
        )
        if requirement is None:
            raise ValidationError({"requirement": _("That requirement is not in this standard.")})
        verdict = services.review_verdict_set(
            review=review, by=request.user, requirement=requirement, **data
        )
        return Response(VerdictSerializer(verdict).data)


class ReviewDecisionApi(_InReview):
    serializer_class = ReviewRevisionSerializer

    @extend_schema(
        summary=_("Certify, request changes or reject (the reviewer's authority)"),
        request=DecisionSerializer,
        responses=write_responses({200: ReviewRevisionSerializer}),
    )
    def post(self, request, solution_id, number: int):
        review = self.get_review(self.get_revision(solution_id, number))
        serializer = DecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.review_decide(review=review, by=request.user, **serializer.validated_data)
        return self.revision_response(solution_id, number)


# Certificates --------------------------------------------------------------------------------


class CertificateApi(GenericAPIView):
    serializer_class = CertificateSerializer
    permission_classes = [AllowAny]
    authentication_classes = []  # public: no session, so no CSRF and nothing personal

    @extend_schema(
        summary=_("Verify a certificate by its number (public, no login)"),
        responses={200: CertificateSerializer, 404: NOT_FOUND},
        auth=[],
    )
    def get(self, request, number: str):
        facts = certificates.certificate_facts(selectors.certificate_get(number=number))
        return Response(CertificateSerializer(facts).data)


def _certificate_action_api(change, summary):
    class CertificateActionApi(GenericAPIView):
        serializer_class = CertificateSerializer

        @extend_schema(
            summary=summary,
            request=CertificateActionSerializer,
            responses=write_responses({200: CertificateSerializer}),
        )
        def post(self, request, number: str):
            selectors.authority_membership_for(user=request.user)
            revision = selectors.certificate_get(number=number)
            serializer = CertificateActionSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            revision = change(revision=revision, by=request.user, **serializer.validated_data)
            return Response(CertificateSerializer(certificates.certificate_facts(revision)).data)

    return CertificateActionApi.as_view()


REVIEW = "reviews/<uuid:solution_id>/<int:number>/"
CERTIFICATE = "certificates/<str:number>/"

urlpatterns = [
    path("standards/", StandardListApi.as_view(), name="api-standards"),
    path("standards/<int:standard_id>/", StandardDetailApi.as_view(), name="api-standard"),
    path(
        "standards/<int:standard_id>/requirements/",
        StandardRequirementListApi.as_view(),
        name="api-standard-requirements",
    ),
    path(
        "standards/<int:standard_id>/bands/",
        StandardBandListApi.as_view(),
        name="api-standard-bands",
    ),
    path(
        "standards/<int:standard_id>/publish/",
        StandardPublishApi.as_view(),
        name="api-standard-publish",
    ),
    path("reviews/", ReviewQueueApi.as_view(), name="api-reviews"),
    path(REVIEW, ReviewDetailApi.as_view(), name="api-review"),
    path(REVIEW + "verdicts/", ReviewVerdictApi.as_view(), name="api-review-verdicts"),
    path(REVIEW + "decision/", ReviewDecisionApi.as_view(), name="api-review-decision"),
    path(CERTIFICATE, CertificateApi.as_view(), name="api-certificate"),
    path(
        CERTIFICATE + "suspend/",
        _certificate_action_api(
            services.certificate_suspend, _("Suspend a certificate (authority staff and above)")
        ),
        name="api-certificate-suspend",
    ),
    path(
        CERTIFICATE + "reinstate/",
        _certificate_action_api(
            services.certificate_reinstate,
            _("Reinstate a suspended certificate (authority staff and above)"),
        ),
        name="api-certificate-reinstate",
    ),
    path(
        CERTIFICATE + "revoke/",
        _certificate_action_api(
            services.certificate_revoke, _("Revoke a certificate (authority staff and above)")
        ),
        name="api-certificate-revoke",
    ),
]
