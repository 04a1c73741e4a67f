import { AppError } from '../../domain/errors.js';

export const userErrors = {
  duplicate: (username: string) => new AppError('conflict', 'user_exists', `A user named "${username}" already exists.`, { details: { field: 'username' } }),
  notFound: (id: string) => new AppError('not_found', 'user_not_found', `No user ${id}.`),
  weakPassword: (problems: string[]) =>
    new AppError('invalid', 'password_too_weak', `The password ${problems.join(', ')}.`, { details: { field: 'password', problems } }),
  lastAdmin: () => new AppError('conflict', 'last_admin', 'This would leave no enabled admin; create another admin first.'),
};
