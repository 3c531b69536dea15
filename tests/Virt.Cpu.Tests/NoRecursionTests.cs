using System.Reflection;
using System.Reflection.Emit;
using Xunit;

namespace Virt.Cpu.Tests;

/// <summary>
/// No method of Virt.Cpu calls itself, directly or through others (issue 11, "a guest can never take down its host"). The
/// guest controls what the CPU does next, and a stack overflow cannot be caught in .NET: it ends the host process. So the
/// CPU keeps every repetition in loops with explicit bounds, and this test reads the IL of every method in the assembly,
/// builds the call graph within it and fails on any cycle not listed (with its reason) in <see cref="ReviewedCycles"/>.
/// </summary>
public sealed class NoRecursionTests
{
    /// <summary>
    /// Cycles a review found bounded, each as the sorted "Type.Method" names of its members, with why. Keep this empty if at
    /// all possible: a loop with a visible bound is easier to trust than a recursion argument.
    /// </summary>
    private static readonly Dictionary<string, string> ReviewedCycles = new(StringComparer.Ordinal);

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    [Fact]
    public void Virt_cpu_has_no_recursion()
    {
        Assembly assembly = typeof(Cpu).Assembly;
        Dictionary<MethodBase, HashSet<MethodBase>> graph = BuildCallGraph(assembly);

        // A sanity check that the graph is real: the run loop reaches the page walk.
        Assert.True(Reaches(graph, Method(typeof(Cpu), nameof(Cpu.Run)), Method(typeof(Mmu), "Walk32")), "the call graph misses edges");

        List<string> cycles = [];
        foreach (List<MethodBase> component in StronglyConnectedComponents(graph))
        {
            bool cyclic = component.Count > 1 || graph[component[0]].Contains(component[0]);
            if (!cyclic)
            {
                continue;
            }

            string key = string.Join(", ", component.Select(Name).Order(StringComparer.Ordinal));
            if (!ReviewedCycles.ContainsKey(key))
            {
                cycles.Add(key);
            }
        }

        Assert.True(cycles.Count == 0, "Recursion in Virt.Cpu (make it a bounded loop):\n" + string.Join("\n", cycles));
    }

    [Fact]
    public void The_checker_finds_recursion()
    {
        // The same analysis over this class's own helpers must see the recursion in them.
        var graph = new Dictionary<MethodBase, HashSet<MethodBase>>();
        AddMethods(graph, typeof(RecursiveSample));
        AddEdges(graph, typeof(RecursiveSample).Module);
        List<List<MethodBase>> cyclic = [.. StronglyConnectedComponents(graph).Where(c => c.Count > 1 || graph[c[0]].Contains(c[0]))];
        Assert.Equal(2, cyclic.Count);
        Assert.Contains(cyclic, c => c.Count == 1 && c[0].Name == nameof(RecursiveSample.Direct));
        Assert.Contains(cyclic, c => c.Count == 2 && c.Any(m => m.Name == nameof(RecursiveSample.Even)) && c.Any(m => m.Name == "Odd"));
    }

    private static MethodBase Method(Type type, string name) =>
        type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
            .Single(m => m.Name == name);

    private static string Name(MethodBase method) => $"{method.DeclaringType?.FullName}.{method.Name}";

    private static Dictionary<MethodBase, HashSet<MethodBase>> BuildCallGraph(Assembly assembly)
    {
        var graph = new Dictionary<MethodBase, HashSet<MethodBase>>();
        foreach (Type type in assembly.GetTypes())
        {
            AddMethods(graph, type);
        }

        AddEdges(graph, assembly.ManifestModule);
        return graph;
    }

    private static void AddMethods(Dictionary<MethodBase, HashSet<MethodBase>> graph, Type type)
    {
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        foreach (MethodBase method in type.GetMethods(all).Cast<MethodBase>().Concat(type.GetConstructors(all)))
        {
            graph.TryAdd(method, []);
        }
    }

    /// <summary>
    /// Adds an edge for every call, callvirt, newobj, ldftn and ldvirtftn to a method in the graph (a delegate made from a
    /// method counts as a call: conservative), and from every virtual or interface method to its overrides and
    /// implementations in the graph, since a call to it may run any of them.
    /// </summary>
    private static void AddEdges(Dictionary<MethodBase, HashSet<MethodBase>> graph, Module module)
    {
        foreach ((MethodBase caller, HashSet<MethodBase> callees) in graph)
        {
            foreach (MethodBase callee in CalledMethods(caller, module))
            {
                MethodBase definition = Definition(callee);
                if (graph.ContainsKey(definition))
                {
                    callees.Add(definition);
                }
            }
        }

        foreach (MethodBase method in graph.Keys.ToList())
        {
            if (method is MethodInfo { IsVirtual: true } virtualMethod && virtualMethod.GetBaseDefinition() is { } baseDefinition
                && !baseDefinition.Equals(virtualMethod) && graph.TryGetValue(Definition(baseDefinition), out HashSet<MethodBase>? baseCallees))
            {
                baseCallees.Add(method);
            }
        }

        foreach (Type type in graph.Keys.Select(m => m.DeclaringType).OfType<Type>().Distinct())
        {
            if (type.IsInterface)
            {
                continue;
            }

            foreach (Type contract in type.GetInterfaces())
            {
                InterfaceMapping map = type.GetInterfaceMap(contract);
                for (int i = 0; i < map.InterfaceMethods.Length; i++)
                {
                    if (graph.TryGetValue(Definition(map.InterfaceMethods[i]), out HashSet<MethodBase>? contractCallees))
                    {
                        contractCallees.Add(Definition(map.TargetMethods[i]));
                    }
                }
            }
        }
    }

    /// <summary>The generic definition of a method, so every instantiation is one node.</summary>
    private static MethodBase Definition(MethodBase method)
    {
        if (method is MethodInfo { IsGenericMethod: true } generic && !generic.IsGenericMethodDefinition)
        {
            method = generic.GetGenericMethodDefinition();
        }

        if (method.DeclaringType is { IsGenericType: true, IsGenericTypeDefinition: false } declaring)
        {
            method = MethodBase.GetMethodFromHandle(method.MethodHandle, declaring.GetGenericTypeDefinition().TypeHandle)!;
        }

        return method;
    }

    /// <summary>The methods a method's IL refers to through call, callvirt, newobj, ldftn, ldvirtftn and jmp.</summary>
    private static IEnumerable<MethodBase> CalledMethods(MethodBase method, Module module)
    {
        byte[]? il = method.GetMethodBody()?.GetILAsByteArray();
        if (il is null)
        {
            yield break;
        }

        Type[]? typeArguments = method.DeclaringType is { IsGenericType: true } t ? t.GetGenericArguments() : null;
        Type[]? methodArguments = method is MethodInfo { IsGenericMethod: true } ? method.GetGenericArguments() : null;
        int position = 0;
        while (position < il.Length)
        {
            short value = il[position++];
            if (value == 0xFE)
            {
                value = (short)(0xFE00 | il[position++]);
            }

            OpCode opCode = OpCodesByValue[value];
            int operandSize = opCode.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + (4 * BitConverter.ToInt32(il, position)),
                _ => 4,
            };

            if (opCode.OperandType == OperandType.InlineMethod)
            {
                int token = BitConverter.ToInt32(il, position);
                MethodBase? callee = module.ResolveMethod(token, typeArguments, methodArguments);
                if (callee is not null)
                {
                    yield return callee;
                }
            }

            position += operandSize;
        }
    }

    /// <summary>Tarjan's algorithm without recursion (an explicit stack of frames), so the test follows its own rule.</summary>
    private static List<List<MethodBase>> StronglyConnectedComponents(Dictionary<MethodBase, HashSet<MethodBase>> graph)
    {
        var index = new Dictionary<MethodBase, int>();
        var lowLink = new Dictionary<MethodBase, int>();
        var onStack = new HashSet<MethodBase>();
        var stack = new Stack<MethodBase>();
        var components = new List<List<MethodBase>>();
        int next = 0;
        foreach (MethodBase root in graph.Keys)
        {
            if (index.ContainsKey(root))
            {
                continue;
            }

            var frames = new Stack<(MethodBase Node, IEnumerator<MethodBase> Edges)>();
            index[root] = lowLink[root] = next++;
            stack.Push(root);
            onStack.Add(root);
            frames.Push((root, graph[root].GetEnumerator()));
            while (frames.Count > 0)
            {
                (MethodBase node, IEnumerator<MethodBase> edges) = frames.Peek();
                if (edges.MoveNext())
                {
                    MethodBase target = edges.Current;
                    if (!index.ContainsKey(target))
                    {
                        index[target] = lowLink[target] = next++;
                        stack.Push(target);
                        onStack.Add(target);
                        frames.Push((target, graph[target].GetEnumerator()));
                    }
                    else if (onStack.Contains(target))
                    {
                        lowLink[node] = Math.Min(lowLink[node], index[target]);
                    }

                    continue;
                }

                frames.Pop();
                if (frames.Count > 0)
                {
                    MethodBase parent = frames.Peek().Node;
                    lowLink[parent] = Math.Min(lowLink[parent], lowLink[node]);
                }

                if (lowLink[node] == index[node])
                {
                    var component = new List<MethodBase>();
                    MethodBase member;
                    do
                    {
                        member = stack.Pop();
                        onStack.Remove(member);
                        component.Add(member);
                    }
                    while (!member.Equals(node));
                    components.Add(component);
                }
            }
        }

        return components;
    }

    private static bool Reaches(Dictionary<MethodBase, HashSet<MethodBase>> graph, MethodBase from, MethodBase to)
    {
        var seen = new HashSet<MethodBase> { from };
        var work = new Queue<MethodBase>([from]);
        while (work.Count > 0)
        {
            foreach (MethodBase next in graph[work.Dequeue()])
            {
                if (next.Equals(to))
                {
                    return true;
                }

                if (seen.Add(next))
                {
                    work.Enqueue(next);
                }
            }
        }

        return false;
    }

    /// <summary>Known recursion for <see cref="The_checker_finds_recursion"/>.</summary>
    private static class RecursiveSample
    {
        public static int Direct(int n) => n <= 0 ? 0 : Direct(n - 1) + 1;

        public static bool Even(int n) => n == 0 || Odd(n - 1);

        public static int Loop(int n)
        {
            int sum = 0;
            for (int i = 0; i < n; i++)
            {
                sum += Even(i) ? 1 : 0;
            }

            return sum;
        }

        private static bool Odd(int n) => n != 0 && Even(n - 1);
    }
}
