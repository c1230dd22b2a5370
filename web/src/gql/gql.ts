/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  fragment TicketFields on Ticket {\n    id\n    title\n    price\n    version\n    status\n    sellerId\n    reservedUntil\n    createdAt\n    updatedAt\n    eventId\n  }\n": typeof types.TicketFieldsFragmentDoc,
    "\n  fragment EventFields on Event {\n    id\n    name\n    venue\n    city\n    startsAt\n    onSaleAt\n    organizerId\n    createdAt\n    availableCount\n    lowestPrice\n  }\n": typeof types.EventFieldsFragmentDoc,
    "\n  fragment ChargeFields on Charge {\n    id\n    orderId\n    amount\n    currency\n    providerId\n    createdAt\n  }\n": typeof types.ChargeFieldsFragmentDoc,
    "\n  fragment OrderFields on Order {\n    id\n    status\n    expiresAt\n    buyerId\n    price\n    createdAt\n    updatedAt\n    charge {\n      ...ChargeFields\n    }\n    ticket {\n      ...TicketFields\n    }\n  }\n": typeof types.OrderFieldsFragmentDoc,
    "\n  query Me {\n    me {\n      id\n      email\n      createdAt\n    }\n  }\n": typeof types.MeDocument,
    "\n  mutation SignUp($email: String!, $password: String!) {\n    signUp(email: $email, password: $password) {\n      user {\n        id\n        email\n      }\n    }\n  }\n": typeof types.SignUpDocument,
    "\n  mutation SignIn($email: String!, $password: String!) {\n    signIn(email: $email, password: $password) {\n      user {\n        id\n        email\n      }\n    }\n  }\n": typeof types.SignInDocument,
    "\n  mutation SignOut {\n    signOut\n  }\n": typeof types.SignOutDocument,
    "\n  query Tickets($first: Int!, $after: String, $status: TicketStatus) {\n    tickets(first: $first, after: $after, status: $status) {\n      edges {\n        cursor\n        node {\n          ...TicketFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.TicketsDocument,
    "\n  query SellerTickets($first: Int!, $after: String, $sellerId: ID!) {\n    tickets(first: $first, after: $after, sellerId: $sellerId) {\n      edges {\n        cursor\n        node {\n          ...TicketFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.SellerTicketsDocument,
    "\n  query Ticket($id: ID!) {\n    ticket(id: $id) {\n      ...TicketFields\n      event {\n        ...EventFields\n      }\n    }\n  }\n": typeof types.TicketDocument,
    "\n  mutation CreateTicket($input: CreateTicketInput!) {\n    createTicket(input: $input) {\n      ...TicketFields\n    }\n  }\n": typeof types.CreateTicketDocument,
    "\n  mutation UpdateTicket($id: ID!, $input: UpdateTicketInput!) {\n    updateTicket(id: $id, input: $input) {\n      ...TicketFields\n    }\n  }\n": typeof types.UpdateTicketDocument,
    "\n  query Events($first: Int!, $after: String, $search: String) {\n    events(first: $first, after: $after, search: $search) {\n      edges {\n        cursor\n        node {\n          ...EventFields\n          listed: tickets(first: 1) {\n            edges {\n              cursor\n            }\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.EventsDocument,
    "\n  query EventOptions($first: Int!, $search: String) {\n    events(first: $first, search: $search) {\n      edges {\n        node {\n          ...EventFields\n        }\n      }\n    }\n  }\n": typeof types.EventOptionsDocument,
    "\n  query Event($id: ID!) {\n    event(id: $id) {\n      ...EventFields\n    }\n  }\n": typeof types.EventDocument,
    "\n  query EventPage($id: ID!, $first: Int!, $after: String) {\n    event(id: $id) {\n      ...EventFields\n      listed: tickets(first: 1) {\n        edges {\n          cursor\n        }\n      }\n      tickets(first: $first, after: $after, status: AVAILABLE, orderBy: PRICE_ASC) {\n        edges {\n          cursor\n          node {\n            ...TicketFields\n          }\n        }\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n      }\n    }\n  }\n": typeof types.EventPageDocument,
    "\n  mutation CreateEvent($input: CreateEventInput!) {\n    createEvent(input: $input) {\n      ...EventFields\n    }\n  }\n": typeof types.CreateEventDocument,
    "\n  fragment QueuePlaceFields on QueuePlace {\n    eventId\n    status\n    position\n    etaSeconds\n    admittedUntil\n    joinedAt\n  }\n": typeof types.QueuePlaceFieldsFragmentDoc,
    "\n  query QueuePlace($eventId: ID!) {\n    queuePlace(eventId: $eventId) {\n      ...QueuePlaceFields\n    }\n  }\n": typeof types.QueuePlaceDocument,
    "\n  mutation JoinQueue($eventId: ID!) {\n    joinQueue(eventId: $eventId) {\n      ...QueuePlaceFields\n    }\n  }\n": typeof types.JoinQueueDocument,
    "\n  mutation CreateOrder($ticketId: ID!, $expectedVersion: Int) {\n    createOrder(ticketId: $ticketId, expectedVersion: $expectedVersion) {\n      ...OrderFields\n    }\n  }\n": typeof types.CreateOrderDocument,
    "\n  query Order($id: ID!) {\n    order(id: $id) {\n      ...OrderFields\n    }\n  }\n": typeof types.OrderDocument,
    "\n  query Orders($first: Int!, $after: String) {\n    orders(first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...OrderFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.OrdersDocument,
    "\n  mutation CancelOrder($id: ID!) {\n    cancelOrder(id: $id) {\n      ...OrderFields\n    }\n  }\n": typeof types.CancelOrderDocument,
    "\n  mutation PayOrder($orderId: ID!, $token: String!) {\n    payOrder(orderId: $orderId, token: $token) {\n      ...ChargeFields\n    }\n  }\n": typeof types.PayOrderDocument,
    "\n  subscription TicketCreated {\n    ticketCreated {\n      ...TicketFields\n    }\n  }\n": typeof types.TicketCreatedDocument,
    "\n  subscription TicketUpdated($id: ID) {\n    ticketUpdated(id: $id) {\n      ...TicketFields\n    }\n  }\n": typeof types.TicketUpdatedDocument,
    "\n  subscription EventUpdated($id: ID!) {\n    eventUpdated(id: $id) {\n      ...EventFields\n    }\n  }\n": typeof types.EventUpdatedDocument,
    "\n  subscription TicketAvailable($eventId: ID!, $maxPrice: Decimal) {\n    ticketAvailable(eventId: $eventId, maxPrice: $maxPrice) {\n      ...TicketFields\n    }\n  }\n": typeof types.TicketAvailableDocument,
    "\n  subscription QueueUpdated($eventId: ID!) {\n    queueUpdated(eventId: $eventId) {\n      ...QueuePlaceFields\n    }\n  }\n": typeof types.QueueUpdatedDocument,
    "\n  subscription OrderCreated {\n    orderCreated {\n      ...OrderFields\n    }\n  }\n": typeof types.OrderCreatedDocument,
    "\n  subscription OrderUpdated($id: ID) {\n    orderUpdated(id: $id) {\n      ...OrderFields\n    }\n  }\n": typeof types.OrderUpdatedDocument,
    "\n  subscription OrderExpired {\n    orderExpired {\n      ...OrderFields\n    }\n  }\n": typeof types.OrderExpiredDocument,
    "\n  subscription ChargeCreated {\n    chargeCreated {\n      ...ChargeFields\n    }\n  }\n": typeof types.ChargeCreatedDocument,
    "\n  query PaymentSettings {\n    paymentSettings {\n      processor\n      publishableKey\n    }\n  }\n": typeof types.PaymentSettingsDocument,
};
const documents: Documents = {
    "\n  fragment TicketFields on Ticket {\n    id\n    title\n    price\n    version\n    status\n    sellerId\n    reservedUntil\n    createdAt\n    updatedAt\n    eventId\n  }\n": types.TicketFieldsFragmentDoc,
    "\n  fragment EventFields on Event {\n    id\n    name\n    venue\n    city\n    startsAt\n    onSaleAt\n    organizerId\n    createdAt\n    availableCount\n    lowestPrice\n  }\n": types.EventFieldsFragmentDoc,
    "\n  fragment ChargeFields on Charge {\n    id\n    orderId\n    amount\n    currency\n    providerId\n    createdAt\n  }\n": types.ChargeFieldsFragmentDoc,
    "\n  fragment OrderFields on Order {\n    id\n    status\n    expiresAt\n    buyerId\n    price\n    createdAt\n    updatedAt\n    charge {\n      ...ChargeFields\n    }\n    ticket {\n      ...TicketFields\n    }\n  }\n": types.OrderFieldsFragmentDoc,
    "\n  query Me {\n    me {\n      id\n      email\n      createdAt\n    }\n  }\n": types.MeDocument,
    "\n  mutation SignUp($email: String!, $password: String!) {\n    signUp(email: $email, password: $password) {\n      user {\n        id\n        email\n      }\n    }\n  }\n": types.SignUpDocument,
    "\n  mutation SignIn($email: String!, $password: String!) {\n    signIn(email: $email, password: $password) {\n      user {\n        id\n        email\n      }\n    }\n  }\n": types.SignInDocument,
    "\n  mutation SignOut {\n    signOut\n  }\n": types.SignOutDocument,
    "\n  query Tickets($first: Int!, $after: String, $status: TicketStatus) {\n    tickets(first: $first, after: $after, status: $status) {\n      edges {\n        cursor\n        node {\n          ...TicketFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.TicketsDocument,
    "\n  query SellerTickets($first: Int!, $after: String, $sellerId: ID!) {\n    tickets(first: $first, after: $after, sellerId: $sellerId) {\n      edges {\n        cursor\n        node {\n          ...TicketFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.SellerTicketsDocument,
    "\n  query Ticket($id: ID!) {\n    ticket(id: $id) {\n      ...TicketFields\n      event {\n        ...EventFields\n      }\n    }\n  }\n": types.TicketDocument,
    "\n  mutation CreateTicket($input: CreateTicketInput!) {\n    createTicket(input: $input) {\n      ...TicketFields\n    }\n  }\n": types.CreateTicketDocument,
    "\n  mutation UpdateTicket($id: ID!, $input: UpdateTicketInput!) {\n    updateTicket(id: $id, input: $input) {\n      ...TicketFields\n    }\n  }\n": types.UpdateTicketDocument,
    "\n  query Events($first: Int!, $after: String, $search: String) {\n    events(first: $first, after: $after, search: $search) {\n      edges {\n        cursor\n        node {\n          ...EventFields\n          listed: tickets(first: 1) {\n            edges {\n              cursor\n            }\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.EventsDocument,
    "\n  query EventOptions($first: Int!, $search: String) {\n    events(first: $first, search: $search) {\n      edges {\n        node {\n          ...EventFields\n        }\n      }\n    }\n  }\n": types.EventOptionsDocument,
    "\n  query Event($id: ID!) {\n    event(id: $id) {\n      ...EventFields\n    }\n  }\n": types.EventDocument,
    "\n  query EventPage($id: ID!, $first: Int!, $after: String) {\n    event(id: $id) {\n      ...EventFields\n      listed: tickets(first: 1) {\n        edges {\n          cursor\n        }\n      }\n      tickets(first: $first, after: $after, status: AVAILABLE, orderBy: PRICE_ASC) {\n        edges {\n          cursor\n          node {\n            ...TicketFields\n          }\n        }\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n      }\n    }\n  }\n": types.EventPageDocument,
    "\n  mutation CreateEvent($input: CreateEventInput!) {\n    createEvent(input: $input) {\n      ...EventFields\n    }\n  }\n": types.CreateEventDocument,
    "\n  fragment QueuePlaceFields on QueuePlace {\n    eventId\n    status\n    position\n    etaSeconds\n    admittedUntil\n    joinedAt\n  }\n": types.QueuePlaceFieldsFragmentDoc,
    "\n  query QueuePlace($eventId: ID!) {\n    queuePlace(eventId: $eventId) {\n      ...QueuePlaceFields\n    }\n  }\n": types.QueuePlaceDocument,
    "\n  mutation JoinQueue($eventId: ID!) {\n    joinQueue(eventId: $eventId) {\n      ...QueuePlaceFields\n    }\n  }\n": types.JoinQueueDocument,
    "\n  mutation CreateOrder($ticketId: ID!, $expectedVersion: Int) {\n    createOrder(ticketId: $ticketId, expectedVersion: $expectedVersion) {\n      ...OrderFields\n    }\n  }\n": types.CreateOrderDocument,
    "\n  query Order($id: ID!) {\n    order(id: $id) {\n      ...OrderFields\n    }\n  }\n": types.OrderDocument,
    "\n  query Orders($first: Int!, $after: String) {\n    orders(first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...OrderFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.OrdersDocument,
    "\n  mutation CancelOrder($id: ID!) {\n    cancelOrder(id: $id) {\n      ...OrderFields\n    }\n  }\n": types.CancelOrderDocument,
    "\n  mutation PayOrder($orderId: ID!, $token: String!) {\n    payOrder(orderId: $orderId, token: $token) {\n      ...ChargeFields\n    }\n  }\n": types.PayOrderDocument,
    "\n  subscription TicketCreated {\n    ticketCreated {\n      ...TicketFields\n    }\n  }\n": types.TicketCreatedDocument,
    "\n  subscription TicketUpdated($id: ID) {\n    ticketUpdated(id: $id) {\n      ...TicketFields\n    }\n  }\n": types.TicketUpdatedDocument,
    "\n  subscription EventUpdated($id: ID!) {\n    eventUpdated(id: $id) {\n      ...EventFields\n    }\n  }\n": types.EventUpdatedDocument,
    "\n  subscription TicketAvailable($eventId: ID!, $maxPrice: Decimal) {\n    ticketAvailable(eventId: $eventId, maxPrice: $maxPrice) {\n      ...TicketFields\n    }\n  }\n": types.TicketAvailableDocument,
    "\n  subscription QueueUpdated($eventId: ID!) {\n    queueUpdated(eventId: $eventId) {\n      ...QueuePlaceFields\n    }\n  }\n": types.QueueUpdatedDocument,
    "\n  subscription OrderCreated {\n    orderCreated {\n      ...OrderFields\n    }\n  }\n": types.OrderCreatedDocument,
    "\n  subscription OrderUpdated($id: ID) {\n    orderUpdated(id: $id) {\n      ...OrderFields\n    }\n  }\n": types.OrderUpdatedDocument,
    "\n  subscription OrderExpired {\n    orderExpired {\n      ...OrderFields\n    }\n  }\n": types.OrderExpiredDocument,
    "\n  subscription ChargeCreated {\n    chargeCreated {\n      ...ChargeFields\n    }\n  }\n": types.ChargeCreatedDocument,
    "\n  query PaymentSettings {\n    paymentSettings {\n      processor\n      publishableKey\n    }\n  }\n": types.PaymentSettingsDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment TicketFields on Ticket {\n    id\n    title\n    price\n    version\n    status\n    sellerId\n    reservedUntil\n    createdAt\n    updatedAt\n    eventId\n  }\n"): (typeof documents)["\n  fragment TicketFields on Ticket {\n    id\n    title\n    price\n    version\n    status\n    sellerId\n    reservedUntil\n    createdAt\n    updatedAt\n    eventId\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment EventFields on Event {\n    id\n    name\n    venue\n    city\n    startsAt\n    onSaleAt\n    organizerId\n    createdAt\n    availableCount\n    lowestPrice\n  }\n"): (typeof documents)["\n  fragment EventFields on Event {\n    id\n    name\n    venue\n    city\n    startsAt\n    onSaleAt\n    organizerId\n    createdAt\n    availableCount\n    lowestPrice\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment ChargeFields on Charge {\n    id\n    orderId\n    amount\n    currency\n    providerId\n    createdAt\n  }\n"): (typeof documents)["\n  fragment ChargeFields on Charge {\n    id\n    orderId\n    amount\n    currency\n    providerId\n    createdAt\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment OrderFields on Order {\n    id\n    status\n    expiresAt\n    buyerId\n    price\n    createdAt\n    updatedAt\n    charge {\n      ...ChargeFields\n    }\n    ticket {\n      ...TicketFields\n    }\n  }\n"): (typeof documents)["\n  fragment OrderFields on Order {\n    id\n    status\n    expiresAt\n    buyerId\n    price\n    createdAt\n    updatedAt\n    charge {\n      ...ChargeFields\n    }\n    ticket {\n      ...TicketFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Me {\n    me {\n      id\n      email\n      createdAt\n    }\n  }\n"): (typeof documents)["\n  query Me {\n    me {\n      id\n      email\n      createdAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SignUp($email: String!, $password: String!) {\n    signUp(email: $email, password: $password) {\n      user {\n        id\n        email\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation SignUp($email: String!, $password: String!) {\n    signUp(email: $email, password: $password) {\n      user {\n        id\n        email\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SignIn($email: String!, $password: String!) {\n    signIn(email: $email, password: $password) {\n      user {\n        id\n        email\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation SignIn($email: String!, $password: String!) {\n    signIn(email: $email, password: $password) {\n      user {\n        id\n        email\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SignOut {\n    signOut\n  }\n"): (typeof documents)["\n  mutation SignOut {\n    signOut\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Tickets($first: Int!, $after: String, $status: TicketStatus) {\n    tickets(first: $first, after: $after, status: $status) {\n      edges {\n        cursor\n        node {\n          ...TicketFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query Tickets($first: Int!, $after: String, $status: TicketStatus) {\n    tickets(first: $first, after: $after, status: $status) {\n      edges {\n        cursor\n        node {\n          ...TicketFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SellerTickets($first: Int!, $after: String, $sellerId: ID!) {\n    tickets(first: $first, after: $after, sellerId: $sellerId) {\n      edges {\n        cursor\n        node {\n          ...TicketFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query SellerTickets($first: Int!, $after: String, $sellerId: ID!) {\n    tickets(first: $first, after: $after, sellerId: $sellerId) {\n      edges {\n        cursor\n        node {\n          ...TicketFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Ticket($id: ID!) {\n    ticket(id: $id) {\n      ...TicketFields\n      event {\n        ...EventFields\n      }\n    }\n  }\n"): (typeof documents)["\n  query Ticket($id: ID!) {\n    ticket(id: $id) {\n      ...TicketFields\n      event {\n        ...EventFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateTicket($input: CreateTicketInput!) {\n    createTicket(input: $input) {\n      ...TicketFields\n    }\n  }\n"): (typeof documents)["\n  mutation CreateTicket($input: CreateTicketInput!) {\n    createTicket(input: $input) {\n      ...TicketFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateTicket($id: ID!, $input: UpdateTicketInput!) {\n    updateTicket(id: $id, input: $input) {\n      ...TicketFields\n    }\n  }\n"): (typeof documents)["\n  mutation UpdateTicket($id: ID!, $input: UpdateTicketInput!) {\n    updateTicket(id: $id, input: $input) {\n      ...TicketFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Events($first: Int!, $after: String, $search: String) {\n    events(first: $first, after: $after, search: $search) {\n      edges {\n        cursor\n        node {\n          ...EventFields\n          listed: tickets(first: 1) {\n            edges {\n              cursor\n            }\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query Events($first: Int!, $after: String, $search: String) {\n    events(first: $first, after: $after, search: $search) {\n      edges {\n        cursor\n        node {\n          ...EventFields\n          listed: tickets(first: 1) {\n            edges {\n              cursor\n            }\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query EventOptions($first: Int!, $search: String) {\n    events(first: $first, search: $search) {\n      edges {\n        node {\n          ...EventFields\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query EventOptions($first: Int!, $search: String) {\n    events(first: $first, search: $search) {\n      edges {\n        node {\n          ...EventFields\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Event($id: ID!) {\n    event(id: $id) {\n      ...EventFields\n    }\n  }\n"): (typeof documents)["\n  query Event($id: ID!) {\n    event(id: $id) {\n      ...EventFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query EventPage($id: ID!, $first: Int!, $after: String) {\n    event(id: $id) {\n      ...EventFields\n      listed: tickets(first: 1) {\n        edges {\n          cursor\n        }\n      }\n      tickets(first: $first, after: $after, status: AVAILABLE, orderBy: PRICE_ASC) {\n        edges {\n          cursor\n          node {\n            ...TicketFields\n          }\n        }\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query EventPage($id: ID!, $first: Int!, $after: String) {\n    event(id: $id) {\n      ...EventFields\n      listed: tickets(first: 1) {\n        edges {\n          cursor\n        }\n      }\n      tickets(first: $first, after: $after, status: AVAILABLE, orderBy: PRICE_ASC) {\n        edges {\n          cursor\n          node {\n            ...TicketFields\n          }\n        }\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateEvent($input: CreateEventInput!) {\n    createEvent(input: $input) {\n      ...EventFields\n    }\n  }\n"): (typeof documents)["\n  mutation CreateEvent($input: CreateEventInput!) {\n    createEvent(input: $input) {\n      ...EventFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment QueuePlaceFields on QueuePlace {\n    eventId\n    status\n    position\n    etaSeconds\n    admittedUntil\n    joinedAt\n  }\n"): (typeof documents)["\n  fragment QueuePlaceFields on QueuePlace {\n    eventId\n    status\n    position\n    etaSeconds\n    admittedUntil\n    joinedAt\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query QueuePlace($eventId: ID!) {\n    queuePlace(eventId: $eventId) {\n      ...QueuePlaceFields\n    }\n  }\n"): (typeof documents)["\n  query QueuePlace($eventId: ID!) {\n    queuePlace(eventId: $eventId) {\n      ...QueuePlaceFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation JoinQueue($eventId: ID!) {\n    joinQueue(eventId: $eventId) {\n      ...QueuePlaceFields\n    }\n  }\n"): (typeof documents)["\n  mutation JoinQueue($eventId: ID!) {\n    joinQueue(eventId: $eventId) {\n      ...QueuePlaceFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateOrder($ticketId: ID!, $expectedVersion: Int) {\n    createOrder(ticketId: $ticketId, expectedVersion: $expectedVersion) {\n      ...OrderFields\n    }\n  }\n"): (typeof documents)["\n  mutation CreateOrder($ticketId: ID!, $expectedVersion: Int) {\n    createOrder(ticketId: $ticketId, expectedVersion: $expectedVersion) {\n      ...OrderFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Order($id: ID!) {\n    order(id: $id) {\n      ...OrderFields\n    }\n  }\n"): (typeof documents)["\n  query Order($id: ID!) {\n    order(id: $id) {\n      ...OrderFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Orders($first: Int!, $after: String) {\n    orders(first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...OrderFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query Orders($first: Int!, $after: String) {\n    orders(first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...OrderFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CancelOrder($id: ID!) {\n    cancelOrder(id: $id) {\n      ...OrderFields\n    }\n  }\n"): (typeof documents)["\n  mutation CancelOrder($id: ID!) {\n    cancelOrder(id: $id) {\n      ...OrderFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation PayOrder($orderId: ID!, $token: String!) {\n    payOrder(orderId: $orderId, token: $token) {\n      ...ChargeFields\n    }\n  }\n"): (typeof documents)["\n  mutation PayOrder($orderId: ID!, $token: String!) {\n    payOrder(orderId: $orderId, token: $token) {\n      ...ChargeFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription TicketCreated {\n    ticketCreated {\n      ...TicketFields\n    }\n  }\n"): (typeof documents)["\n  subscription TicketCreated {\n    ticketCreated {\n      ...TicketFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription TicketUpdated($id: ID) {\n    ticketUpdated(id: $id) {\n      ...TicketFields\n    }\n  }\n"): (typeof documents)["\n  subscription TicketUpdated($id: ID) {\n    ticketUpdated(id: $id) {\n      ...TicketFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription EventUpdated($id: ID!) {\n    eventUpdated(id: $id) {\n      ...EventFields\n    }\n  }\n"): (typeof documents)["\n  subscription EventUpdated($id: ID!) {\n    eventUpdated(id: $id) {\n      ...EventFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription TicketAvailable($eventId: ID!, $maxPrice: Decimal) {\n    ticketAvailable(eventId: $eventId, maxPrice: $maxPrice) {\n      ...TicketFields\n    }\n  }\n"): (typeof documents)["\n  subscription TicketAvailable($eventId: ID!, $maxPrice: Decimal) {\n    ticketAvailable(eventId: $eventId, maxPrice: $maxPrice) {\n      ...TicketFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription QueueUpdated($eventId: ID!) {\n    queueUpdated(eventId: $eventId) {\n      ...QueuePlaceFields\n    }\n  }\n"): (typeof documents)["\n  subscription QueueUpdated($eventId: ID!) {\n    queueUpdated(eventId: $eventId) {\n      ...QueuePlaceFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription OrderCreated {\n    orderCreated {\n      ...OrderFields\n    }\n  }\n"): (typeof documents)["\n  subscription OrderCreated {\n    orderCreated {\n      ...OrderFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription OrderUpdated($id: ID) {\n    orderUpdated(id: $id) {\n      ...OrderFields\n    }\n  }\n"): (typeof documents)["\n  subscription OrderUpdated($id: ID) {\n    orderUpdated(id: $id) {\n      ...OrderFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription OrderExpired {\n    orderExpired {\n      ...OrderFields\n    }\n  }\n"): (typeof documents)["\n  subscription OrderExpired {\n    orderExpired {\n      ...OrderFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ChargeCreated {\n    chargeCreated {\n      ...ChargeFields\n    }\n  }\n"): (typeof documents)["\n  subscription ChargeCreated {\n    chargeCreated {\n      ...ChargeFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query PaymentSettings {\n    paymentSettings {\n      processor\n      publishableKey\n    }\n  }\n"): (typeof documents)["\n  query PaymentSettings {\n    paymentSettings {\n      processor\n      publishableKey\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;