package io.behaviorcep; public class BehaviorCepJob { public static void main(String[] a){} }
