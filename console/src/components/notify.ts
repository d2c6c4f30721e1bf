import { notifications } from '@mantine/notifications';

export function done(message: string): void {
  notifications.show({ color: 'green', title: 'Done', message });
}
