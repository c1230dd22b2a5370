// Every GraphQL document the UI sends. `npm run codegen` turns them into typed documents in
// src/gql/ from ../schema.graphql.
import { graphql } from '../gql';

export const TicketFieldsFragment = graphql(`
  fragment TicketFields on Ticket {
    id
    title
    price
    version
    status
    sellerId
    reservedUntil
    createdAt
    updatedAt
    eventId
  }
`);

export const EventFieldsFragment = graphql(`
  fragment EventFields on Event {
    id
    name
    venue
    city
    startsAt
    onSaleAt
    organizerId
    createdAt
    availableCount
    lowestPrice
  }
`);

export const ChargeFieldsFragment = graphql(`
  fragment ChargeFields on Charge {
    id
    orderId
    amount
    currency
    providerId
    createdAt
  }
`);

export const OrderFieldsFragment = graphql(`
  fragment OrderFields on Order {
    id
    status
    expiresAt
    buyerId
    price
    createdAt
    updatedAt
    charge {
      ...ChargeFields
    }
    ticket {
      ...TicketFields
    }
  }
`);

export const MeQuery = graphql(`
  query Me {
    me {
      id
      email
      createdAt
    }
  }
`);

export const SignUpMutation = graphql(`
  mutation SignUp($email: String!, $password: String!) {
    signUp(email: $email, password: $password) {
      user {
        id
        email
      }
    }
  }
`);

export const SignInMutation = graphql(`
  mutation SignIn($email: String!, $password: String!) {
    signIn(email: $email, password: $password) {
      user {
        id
        email
      }
    }
  }
`);

export const SignOutMutation = graphql(`
  mutation SignOut {
    signOut
  }
`);

export const TicketsQuery = graphql(`
  query Tickets($first: Int!, $after: String, $status: TicketStatus) {
    tickets(first: $first, after: $after, status: $status) {
      edges {
        cursor
        node {
          ...TicketFields
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const SellerTicketsQuery = graphql(`
  query SellerTickets($first: Int!, $after: String, $sellerId: ID!) {
    tickets(first: $first, after: $after, sellerId: $sellerId) {
      edges {
        cursor
        node {
          ...TicketFields
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const TicketQuery = graphql(`
  query Ticket($id: ID!) {
    ticket(id: $id) {
      ...TicketFields
      event {
        ...EventFields
      }
    }
  }
`);

export const CreateTicketMutation = graphql(`
  mutation CreateTicket($input: CreateTicketInput!) {
    createTicket(input: $input) {
      ...TicketFields
    }
  }
`);

export const UpdateTicketMutation = graphql(`
  mutation UpdateTicket($id: ID!, $input: UpdateTicketInput!) {
    updateTicket(id: $id, input: $input) {
      ...TicketFields
    }
  }
`);

// `listed` (any ticket at all, whatever its status) tells "sold out" from "no tickets yet" when
// none is available.
export const EventsQuery = graphql(`
  query Events($first: Int!, $after: String, $search: String) {
    events(first: $first, after: $after, search: $search) {
      edges {
        cursor
        node {
          ...EventFields
          listed: tickets(first: 1) {
            edges {
              cursor
            }
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

/** The event picker's suggestions. */
export const EventOptionsQuery = graphql(`
  query EventOptions($first: Int!, $search: String) {
    events(first: $first, search: $search) {
      edges {
        node {
          ...EventFields
        }
      }
    }
  }
`);

export const EventQuery = graphql(`
  query Event($id: ID!) {
    event(id: $id) {
      ...EventFields
    }
  }
`);

/** An event and its tickets on sale, cheapest first, page by page. */
export const EventPageQuery = graphql(`
  query EventPage($id: ID!, $first: Int!, $after: String) {
    event(id: $id) {
      ...EventFields
      listed: tickets(first: 1) {
        edges {
          cursor
        }
      }
      tickets(first: $first, after: $after, status: AVAILABLE, orderBy: PRICE_ASC) {
        edges {
          cursor
          node {
            ...TicketFields
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
`);

export const CreateEventMutation = graphql(`
  mutation CreateEvent($input: CreateEventInput!) {
    createEvent(input: $input) {
      ...EventFields
    }
  }
`);

export const QueuePlaceFieldsFragment = graphql(`
  fragment QueuePlaceFields on QueuePlace {
    eventId
    status
    position
    etaSeconds
    admittedUntil
    joinedAt
  }
`);

/** The viewer's place in an event's on-sale queue (null when not in it or signed out). */
export const QueuePlaceQuery = graphql(`
  query QueuePlace($eventId: ID!) {
    queuePlace(eventId: $eventId) {
      ...QueuePlaceFields
    }
  }
`);

export const JoinQueueMutation = graphql(`
  mutation JoinQueue($eventId: ID!) {
    joinQueue(eventId: $eventId) {
      ...QueuePlaceFields
    }
  }
`);

export const CreateOrderMutation = graphql(`
  mutation CreateOrder($ticketId: ID!, $expectedVersion: Int) {
    createOrder(ticketId: $ticketId, expectedVersion: $expectedVersion) {
      ...OrderFields
    }
  }
`);

export const OrderQuery = graphql(`
  query Order($id: ID!) {
    order(id: $id) {
      ...OrderFields
    }
  }
`);

export const OrdersQuery = graphql(`
  query Orders($first: Int!, $after: String) {
    orders(first: $first, after: $after) {
      edges {
        cursor
        node {
          ...OrderFields
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const CancelOrderMutation = graphql(`
  mutation CancelOrder($id: ID!) {
    cancelOrder(id: $id) {
      ...OrderFields
    }
  }
`);

export const PayOrderMutation = graphql(`
  mutation PayOrder($orderId: ID!, $token: String!) {
    payOrder(orderId: $orderId, token: $token) {
      ...ChargeFields
    }
  }
`);

export const TicketCreatedSubscription = graphql(`
  subscription TicketCreated {
    ticketCreated {
      ...TicketFields
    }
  }
`);

export const TicketUpdatedSubscription = graphql(`
  subscription TicketUpdated($id: ID) {
    ticketUpdated(id: $id) {
      ...TicketFields
    }
  }
`);

export const EventUpdatedSubscription = graphql(`
  subscription EventUpdated($id: ID!) {
    eventUpdated(id: $id) {
      ...EventFields
    }
  }
`);

export const TicketAvailableSubscription = graphql(`
  subscription TicketAvailable($eventId: ID!, $maxPrice: Decimal) {
    ticketAvailable(eventId: $eventId, maxPrice: $maxPrice) {
      ...TicketFields
    }
  }
`);

export const QueueUpdatedSubscription = graphql(`
  subscription QueueUpdated($eventId: ID!) {
    queueUpdated(eventId: $eventId) {
      ...QueuePlaceFields
    }
  }
`);

export const OrderCreatedSubscription = graphql(`
  subscription OrderCreated {
    orderCreated {
      ...OrderFields
    }
  }
`);

export const OrderUpdatedSubscription = graphql(`
  subscription OrderUpdated($id: ID) {
    orderUpdated(id: $id) {
      ...OrderFields
    }
  }
`);

export const OrderExpiredSubscription = graphql(`
  subscription OrderExpired {
    orderExpired {
      ...OrderFields
    }
  }
`);

export const ChargeCreatedSubscription = graphql(`
  subscription ChargeCreated {
    chargeCreated {
      ...ChargeFields
    }
  }
`);

export const PaymentSettingsQuery = graphql(`
  query PaymentSettings {
    paymentSettings {
      processor
      publishableKey
    }
  }
`);
