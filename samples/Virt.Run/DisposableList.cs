namespace Virt.Run;

/// <summary>Files and backends opened for a run, closed (flushing what they hold) when it ends.</summary>
public sealed class DisposableList : IDisposable
{
    private readonly List<IDisposable> _items = [];

    /// <summary>Adds an item to close later.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="item">The item.</param>
    /// <returns>The same item.</returns>
    public T Add<T>(T item)
        where T : IDisposable
    {
        _items.Add(item);
        return item;
    }

    /// <summary>Closes everything now, in reverse order (backends before the files they write to).</summary>
    public void Flush()
    {
        for (int i = _items.Count - 1; i >= 0; i--)
        {
            _items[i].Dispose();
        }

        _items.Clear();
    }

    /// <inheritdoc />
    public void Dispose() => Flush();
}
